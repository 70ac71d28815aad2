"""Packages on the wire: build and read zip / tar.gz safely; content digests.

Reading never trusts an archive: names are normalised and checked (no absolute paths,
``..``, empty segments, backslashes or NULs), links and device files are refused, and
decompression streams through a running counter, so a bomb stops at the cap instead
of filling memory. Building is deterministic: sorted names, fixed timestamps and modes.
The archive modules are imported where an archive is read or built: a push hook needs
only the digests.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zlib
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, NamedTuple

from gitsync.config.snapshot import Snapshot
from gitsync.errors import BadRequest, PayloadTooLarge, UnsafeInput

if TYPE_CHECKING:
    import gzip

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
TGZ_TYPES = frozenset({"application/x-gzip", "application/gzip", "application/x-tar+gzip"})
_CHUNK = 64 * 1024
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackageLimits(NamedTuple):
    """Caps applied while reading a package."""

    max_compressed: int = 64 * 1024 * 1024
    max_decompressed: int = 256 * 1024 * 1024
    max_entries: int = 10_000


# -- digests -------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def tree_digest(files: Mapping[str, bytes], under: str = "") -> str:
    """sha256 over the files below ``under`` (sorted relative path + content digest), so
    the same tree always has the same digest and any change to a file changes it."""
    root = under.strip().strip("/")
    while root.startswith("./"):
        root = root[2:].lstrip("/")
    prefix = root + "/" if root not in ("", ".") else ""
    digest = hashlib.sha256()
    for name in sorted(files):
        if name.startswith(prefix):
            digest.update(name[len(prefix) :].encode() + b"\0")
            digest.update(sha256_hex(files[name]).encode() + b"\n")
    return digest.hexdigest()


def manifest_checksum(manifest: Mapping[str, str]) -> str:
    """md5 over a path → sha256 manifest: Vespa's package ``checksum``."""
    text = "".join(f"{path}\0{manifest[path]}\n" for path in sorted(manifest))
    return md5_hex(text.encode())


# -- names ---------------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """A safe relative POSIX path, or UnsafeInput. ``./`` segments are dropped; a trailing
    ``/`` is dropped (the caller knows whether the entry is a directory); ``""`` means
    the package root."""
    if "\0" in name:
        raise UnsafeInput(f"Unsafe path in package: {name!r} contains a NUL character")
    if "\\" in name:
        raise UnsafeInput(f"Unsafe path in package: '{name}' contains a backslash")
    if name.startswith("/"):
        raise UnsafeInput(f"Unsafe path in package: '{name}' is absolute")
    parts = name.split("/")
    if parts and parts[-1] == "":
        parts.pop()
    kept: list[str] = []
    for part in parts:
        if part == "..":
            raise UnsafeInput(f"Unsafe path in package: '{name}' contains '..'")
        if part == "":
            raise UnsafeInput(f"Unsafe path in package: '{name}' has an empty segment")
        if part != ".":
            kept.append(part)
    return "/".join(kept)


def normalize_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Check and normalise every name of an in-memory package; clashes are refused."""
    out: dict[str, bytes] = {}
    for name, data in files.items():
        clean = normalize_name(name)
        if not clean:
            raise UnsafeInput(f"Unsafe path in package: '{name}' names the package root")
        _add(out, clean, data, name)
    _check_file_dir_clash(out)
    return out


def _add(out: dict[str, bytes], clean: str, data: bytes, original: str) -> None:
    if clean in out:
        raise UnsafeInput(f"Package has a duplicate entry: '{original}'")
    out[clean] = data


def _check_file_dir_clash(files: Mapping[str, bytes]) -> None:
    for name in files:
        parent = name.rpartition("/")[0]
        while parent:
            if parent in files:
                raise UnsafeInput(f"Package has '{parent}' both as a file and as a directory")
            parent = parent.rpartition("/")[0]


# -- reading -------------------------------------------------------------------------------


def read_package(data: bytes, content_type: str, limits: PackageLimits) -> dict[str, bytes]:
    """The files of a zip (``application/zip``) or tar.gz (``application/x-gzip``)."""
    if len(data) == 0:
        raise BadRequest("Request contains no data")
    if len(data) > limits.max_compressed:
        raise PayloadTooLarge(
            f"Application package is too large ({len(data)} > {limits.max_compressed} bytes)"
        )
    kind = content_type.split(";")[0].strip().lower()
    if kind in ZIP_TYPES:
        return read_zip(data, limits)
    if kind in TGZ_TYPES:
        return read_tar_gz(data, limits)
    raise BadRequest(f"Request contains invalid Content-Type header ({content_type})")


def read_source_tree(
    data: bytes, content_type: str, limits: PackageLimits
) -> tuple[dict[str, bytes], frozenset[str]]:
    """A pushed source tree (``git archive``): its files and the paths of its symlinks,
    which are recorded, not followed, exactly as a git source reads the same tree."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in TGZ_TYPES or not data or len(data) > limits.max_compressed:
        return read_package(data, content_type, limits), frozenset()
    links: set[str] = set()
    files = read_tar_gz(data, limits, links)
    return files, frozenset(links)


class _Budget:
    """Running count of decompressed bytes and entries against the limits."""

    def __init__(self, limits: PackageLimits, kind: str) -> None:
        self.limits = limits
        self.kind = kind
        self.total = 0
        self.entries = 0

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise UnsafeInput(
                f"{self.kind} has more than {self.limits.max_entries} entries: refusing it"
            )

    def take(self, count: int) -> None:
        self.total += count
        if self.total > self.limits.max_decompressed:
            raise UnsafeInput(
                f"Total size of {self.kind} exceeds size limit of "
                f"{self.limits.max_decompressed} bytes"
            )


def _read_stream(stream: IO[bytes], budget: _Budget) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        budget.take(len(chunk))
        chunks.append(chunk)


def read_zip(data: bytes, limits: PackageLimits) -> dict[str, bytes]:
    import zipfile

    budget = _Budget(limits, "ZIP")
    out: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                budget.entry()
                if "\x00" in info.orig_filename:  # zipfile cuts the name at the NUL
                    raise UnsafeInput("Unsafe path in package: an entry name contains a NUL")
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UnsafeInput(f"Package entry '{info.filename}' is a symbolic link")
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                    raise UnsafeInput(f"Package entry '{info.filename}' is not a regular file")
                if info.flag_bits & 0x1:  # zipfile would raise RuntimeError (a 500)
                    raise BadRequest(f"Package entry '{info.filename}' is encrypted")
                clean = normalize_name(info.filename)
                if not clean or info.is_dir():  # is_dir() fails on an empty name
                    continue
                with archive.open(info) as stream:
                    _add(out, clean, _read_stream(stream, budget), info.filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BadRequest(f"Unable to decompress application package: {exc}") from exc
    _check_file_dir_clash(out)
    return out


class _CountingReader(io.RawIOBase):
    """Decompressed tar bytes, counted, so headers and padding count toward the cap."""

    def __init__(self, source: gzip.GzipFile, budget: _Budget) -> None:
        self.source = source
        self.budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self.source.read(min(len(buffer), _CHUNK))
        self.budget.take(len(chunk))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def read_tar_gz(
    data: bytes, limits: PackageLimits, symlinks: set[str] | None = None
) -> dict[str, bytes]:
    """The files of a tar.gz. A symlink is refused, unless ``symlinks`` is given: then
    its path is recorded there and it is not followed (as a git source records one)."""
    import gzip
    import tarfile

    budget = _Budget(limits, "TAR")
    out: dict[str, bytes] = {}
    raw = gzip.GzipFile(fileobj=io.BytesIO(data))
    counted = io.BufferedReader(_CountingReader(raw, budget))
    try:
        with tarfile.open(fileobj=counted, mode="r|") as archive:
            for member in archive:
                budget.entry()
                if member.issym() and symlinks is not None:
                    symlinks.add(normalize_name(member.name))
                    continue
                if member.issym() or member.islnk():
                    kind = "symbolic" if member.issym() else "hard"
                    raise UnsafeInput(f"Package entry '{member.name}' is a {kind} link")
                if member.isdir():
                    normalize_name(member.name)
                    continue
                if not member.isfile():
                    raise UnsafeInput(f"Package entry '{member.name}' is not a regular file")
                clean = normalize_name(member.name)
                if not clean:
                    raise UnsafeInput(
                        f"Unsafe path in package: '{member.name}' names the package root"
                    )
                stream = archive.extractfile(member)
                if stream is None:  # pragma: no cover - isfile() members always have data
                    continue
                _add(out, clean, _read_stream(stream, budget), member.name)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BadRequest(f"Unable to create compressed application stream: {exc}") from exc
    _check_file_dir_clash(out)
    return out


# -- building ------------------------------------------------------------------------------


def _files_of(source: Snapshot | Mapping[str, bytes]) -> Mapping[str, bytes]:
    return source.files if isinstance(source, Snapshot) else source


def build_zip(source: Snapshot | Mapping[str, bytes]) -> bytes:
    """A deterministic zip: sorted names, fixed time, mode 0644, no directory entries."""
    import zipfile

    buffer = io.BytesIO()
    files = _files_of(source)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def build_tar_gz(source: Snapshot | Mapping[str, bytes]) -> bytes:
    """A deterministic tar.gz: sorted names, mtime 0, root-owned, mode 0644."""
    import gzip
    import tarfile

    raw = io.BytesIO()
    files = _files_of(source)
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue(), mtime=0)
