"""Hostile inputs of the reliability suite: how to build each one. The test module sends them
to a real engine; ``bench/reliability.py`` counts them."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile

BOMB_BYTES = 300 * 1024 * 1024  # over the 256 MiB decompression cap


def zip_of(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of (name, data, unix mode) entries, modes kept as written."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def tar_gz_of(members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            payload = (data or {}).get(member.name)
            archive.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


def tar_member(
    name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.linkname = link
    info.mode = 0o644
    return info


def zip_bomb() -> bytes:
    """One entry of 300 MiB of zeros, about 300 KiB compressed."""
    buffer = io.BytesIO()
    chunk = b"\0" * (4 * 1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("serve.yaml", "w", force_zip64=True) as entry,
    ):
        for _ in range(BOMB_BYTES // len(chunk)):
            entry.write(chunk)
    return buffer.getvalue()


def tar_bomb() -> bytes:
    """A tar.gz whose one member claims and holds 300 MiB of zeros."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        header = tar_member("serve.yaml", size=BOMB_BYTES)
        gz.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        chunk = b"\0" * (4 * 1024 * 1024)
        for _ in range(BOMB_BYTES // len(chunk)):
            gz.write(chunk)
        gz.write(b"\0" * 1024)
    return out.getvalue()


def entry_bomb(count: int = 10_001) -> bytes:
    """More entries than the 10 000 cap, each tiny."""
    return zip_of([(f"f/{i}.txt", b"", stat.S_IFREG | 0o644) for i in range(count)])


def alias_bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\napplications: []\n").encode()


def deep_nesting(depth: int = 200) -> bytes:
    return ("applications: " + "[" * depth + "]" * depth + "\n").encode()


def huge_scalar(size: int = 65 * 1024 * 1024) -> bytes:
    return b"applications: []\nnote: " + b"a" * size + b"\n"


INVALID_UTF8 = b"applications:\n  - name: caf\xe9\n    import_path: m:app\n"
DUPLICATE_KEYS = (
    b"applications:\n  - name: a\n    import_path: m:app\n    name: b\n    route_prefix: /a\n"
)
