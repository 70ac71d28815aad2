"""Package safety and determinism (gitsync/package.py)."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile

import pytest

from gitsync.config import package
from gitsync.config.package import PackageLimits
from gitsync.config.snapshot import Snapshot
from gitsync.errors import BadRequest, PayloadTooLarge, UnsafeInput

LIMITS = PackageLimits()


def raw_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip with exact names and unix modes (mode 0 = none recorded)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def raw_tgz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def test_zip_without_directory_entries_and_with_dot_files() -> None:
    data = raw_zip([("a/b/c.yaml", b"x", 0o100644), (".vespa/config.yaml", b"y", 0)])
    assert package.read_package(data, "application/zip", LIMITS) == {
        "a/b/c.yaml": b"x",
        ".vespa/config.yaml": b"y",
    }


def test_zip_with_directory_entries() -> None:
    data = raw_zip([("a/", b"", 0o40755), ("a/x", b"1", 0o100644)])
    assert package.read_package(data, "application/zip", LIMITS) == {"a/x": b"1"}


def test_tar_with_dot_slash_prefixes() -> None:
    data = raw_tgz(
        [
            (member(".", tarfile.DIRTYPE), b""),
            (member("./dir", tarfile.DIRTYPE), b""),
            (member("./dir/f.yaml"), b"hello"),
        ]
    )
    assert package.read_package(data, "application/x-gzip", LIMITS) == {"dir/f.yaml": b"hello"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil", "Unsafe path in package: '../evil' contains '..'"),
        ("a/../../evil", "Unsafe path in package: 'a/../../evil' contains '..'"),
        ("/etc/passwd", "Unsafe path in package: '/etc/passwd' is absolute"),
        ("a//b", "Unsafe path in package: 'a//b' has an empty segment"),
        ("a\\..\\b", "Unsafe path in package: 'a\\..\\b' contains a backslash"),
    ],
)
def test_zip_slip_and_friends_are_refused(name: str, message: str) -> None:
    data = raw_zip([(name, b"x", 0o100644)])
    with pytest.raises(UnsafeInput) as caught:
        package.read_package(data, "application/zip", LIMITS)
    assert caught.value.message == message
    assert caught.value.http_status == 400


def test_tar_traversal_is_refused() -> None:
    data = raw_tgz([(member("../../x"), b"x")])
    with pytest.raises(UnsafeInput, match=r"^Unsafe path in package: '../../x' contains '..'$"):
        package.read_package(data, "application/x-gzip", LIMITS)


def test_zip_symlink_is_refused() -> None:
    data = raw_zip([("link", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    with pytest.raises(UnsafeInput, match="^Package entry 'link' is a symbolic link$"):
        package.read_package(data, "application/zip", LIMITS)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (tarfile.SYMTYPE, "Package entry 'x' is a symbolic link"),
        (tarfile.LNKTYPE, "Package entry 'x' is a hard link"),
        (tarfile.CHRTYPE, "Package entry 'x' is not a regular file"),
        (tarfile.BLKTYPE, "Package entry 'x' is not a regular file"),
        (tarfile.FIFOTYPE, "Package entry 'x' is not a regular file"),
    ],
)
def test_tar_links_and_devices_are_refused(kind: bytes, message: str) -> None:
    data = raw_tgz([(member("x", kind, linkname="/etc/passwd"), b"")])
    with pytest.raises(UnsafeInput) as caught:
        package.read_package(data, "application/x-gzip", LIMITS)
    assert caught.value.message == message


def test_zip_bomb_stops_at_the_cap() -> None:
    # 200 MB of zeros compress to about 200 KB; the cap is 1 MiB.
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("bomb", "w", force_zip64=True) as out,
    ):
        for _ in range(200):
            out.write(b"\0" * (1 << 20))
    limits = PackageLimits(max_decompressed=1 << 20)
    with pytest.raises(
        UnsafeInput, match="^Total size of ZIP exceeds size limit of 1048576 bytes$"
    ):
        package.read_package(buffer.getvalue(), "application/zip", limits)


def test_tar_bomb_stops_at_the_cap() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("bomb")
        info.size = 50 << 20
        archive.addfile(info, io.BytesIO(b"\0" * info.size))
    data = gzip.compress(raw.getvalue())
    limits = PackageLimits(max_decompressed=1 << 20)
    with pytest.raises(
        UnsafeInput, match="^Total size of TAR exceeds size limit of 1048576 bytes$"
    ):
        package.read_package(data, "application/x-gzip", limits)


def test_entry_count_cap() -> None:
    data = raw_zip([(f"f{i}", b"", 0o100644) for i in range(11)])
    with pytest.raises(UnsafeInput, match="^ZIP has more than 10 entries: refusing it$"):
        package.read_package(data, "application/zip", PackageLimits(max_entries=10))


def test_compressed_size_cap() -> None:
    with pytest.raises(
        PayloadTooLarge, match=r"^Application package is too large \(11 > 10 bytes\)$"
    ):
        package.read_package(b"x" * 11, "application/zip", PackageLimits(max_compressed=10))


def test_bad_input() -> None:
    with pytest.raises(BadRequest, match="^Request contains no data$"):
        package.read_package(b"", "application/zip", LIMITS)
    with pytest.raises(
        BadRequest, match=r"^Request contains invalid Content-Type header \(text/plain\)$"
    ):
        package.read_package(b"x", "text/plain", LIMITS)
    with pytest.raises(BadRequest, match="^Unable to create compressed application stream: "):
        package.read_package(b"not gzip", "application/x-gzip", LIMITS)
    with pytest.raises(BadRequest, match="^Unable to decompress application package: "):
        package.read_package(b"not a zip", "application/zip", LIMITS)


def test_duplicates_and_file_dir_clashes_are_refused() -> None:
    with pytest.raises(UnsafeInput, match="^Package has a duplicate entry: './a'$"):
        package.read_package(
            raw_tgz([(member("a"), b"1"), (member("./a"), b"2")]), "application/x-gzip", LIMITS
        )
    with pytest.raises(UnsafeInput, match="^Package has 'a' both as a file and as a directory$"):
        package.read_package(raw_zip([("a", b"1", 0), ("a/b", b"2", 0)]), "application/zip", LIMITS)


def test_builds_are_deterministic_and_round_trip() -> None:
    files = {"b.yaml": b"2", "a/x.py": b"print(1)\n", "a/y": b""}
    snapshot = Snapshot(revision="r", files=files)
    assert package.build_zip(snapshot) == package.build_zip(dict(reversed(files.items())))
    assert package.build_tar_gz(snapshot) == package.build_tar_gz(files)
    assert package.read_package(package.build_zip(files), "application/zip", LIMITS) == files
    assert package.read_package(package.build_tar_gz(files), "application/x-gzip", LIMITS) == files
    names = zipfile.ZipFile(io.BytesIO(package.build_zip(files))).namelist()
    assert names == ["a/x.py", "a/y", "b.yaml"]


def test_tree_digest_covers_names_and_content() -> None:
    files = {"code/a.py": b"1", "code/b.py": b"2", "other.yaml": b"3"}
    base = package.tree_digest(files, "code")
    assert base == package.tree_digest({**files, "other.yaml": b"changed"}, "./code/")
    assert base != package.tree_digest({**files, "code/a.py": b"changed"}, "code")
    assert base != package.tree_digest({"code/c.py": b"1", "code/b.py": b"2"}, "code")
