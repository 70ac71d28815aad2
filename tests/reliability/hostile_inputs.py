"""Hostile inputs of the reliability suite: how to build each one. The test modules send them
to a real engine, or leave them in its state directory for it to read."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitsync.engine.store.plan_cache import plans_digest

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


# -- the embedded store's plan cache file, ``<state>/engine.sql-plans.json`` --------------
# Each builds the file's bytes from the data of a good one (``good``: its format, key,
# schema head and plans) and the size cap the engine enforces (``cap``).

PlanFile = Callable[[dict[str, Any], int], bytes]


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _with_plans(good: dict[str, Any], extra: dict[str, Any], *, digest: bool = True) -> bytes:
    """The good file with ``extra`` plans (replacing any of the same key), carrying the
    digest of its new plans (as whoever edits it knowing the format would write it) or
    the old one (``digest=False``: as damage leaves it)."""
    plans = {**good["plans"], **extra}
    return json.dumps(
        {**good, "plans": plans, **({"digest": plans_digest(plans)} if digest else {})}
    ).encode()


def _padded_past(good: dict[str, Any], cap: int) -> bytes:
    """A whole, well-keyed file one byte past the cap (any file past it is refused)."""
    skeleton = json.dumps({**good, "pad": ""}).encode()
    return json.dumps({**good, "pad": "x" * (cap + 1 - len(skeleton))}).encode()


def _edited_plan(good: dict[str, Any], name: str, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The good file with the plan of statement ``name`` edited in place, as damage
    would: still whole, well keyed and well typed, but no longer what the compiler made
    nor what the digest it carries says. (An edit that writes the digest too is trusted,
    as the database beside the file is.)"""
    plans = json.loads(json.dumps(good["plans"]))
    (key,) = [key for key in plans if key.startswith(f"{name}|") and key.endswith("|one")]
    edit(plans[key])
    return json.dumps({**good, "plans": plans}).encode()


def _typo_in_sql(plan: dict[str, Any]) -> None:
    plan["sql"] = plan["sql"].replace("UPDATE", "UPDATF", 1)


def _swap_name_and_route(plan: dict[str, Any]) -> None:
    sources = plan["sources"]
    name, route = (
        [i for i, source in enumerate(sources) if source[0] == key][0]
        for key in ("name", "route_prefix")
    )
    sources[name], sources[route] = sources[route], sources[name]


PLAN_FILES: dict[str, PlanFile] = {
    "stale key": lambda good, cap: json.dumps(
        {
            **good,
            "key": "0" * 64,
            "plans": {"bump||one": {"sql": "DROP TABLE tenants", "sources": []}},
        }
    ).encode(),
    "other format": lambda good, cap: json.dumps({**good, "format": 2}).encode(),
    "no key": lambda good, cap: json.dumps({k: v for k, v in good.items() if k != "key"}).encode(),
    "plans a list": lambda good, cap: json.dumps({**good, "plans": [1, 2]}).encode(),
    "a plan's sql a number": lambda good, cap: _with_plans(
        good, {"bump||one": {"sql": 1, "sources": []}}
    ),
    "a plan's sources a string": lambda good, cap: _with_plans(
        good, {"bump||one": {"sql": "SELECT 1", "sources": "abc"}}
    ),
    "a plan's conversion unknown": lambda good, cap: _with_plans(
        good, {"bump||one": {"sql": "SELECT ?", "sources": [["p_a", None, "eval"]]}}
    ),
    "junk beside the good plans": lambda good, cap: _with_plans(good, {"junk||one": 5}),
    "junk beside the good plans, its digest stale": lambda good, cap: _with_plans(
        good, {"junk||one": 5}, digest=False
    ),
    "a nested constant in a plan": lambda good, cap: _with_plans(
        good, {"junk||one": {"sql": "SELECT ?", "sources": [[None, _nested(500), None]]}}
    ),
    "no digest": lambda good, cap: json.dumps(
        {k: v for k, v in good.items() if k != "digest"}
    ).encode(),
    "head not a string": lambda good, cap: json.dumps({**good, "head": {"a": [1]}}).encode(),
    "top level a list": lambda good, cap: json.dumps([good]).encode(),
    "top level a string": lambda good, cap: b'"engine.sql-plans.json"',
    "null": lambda good, cap: b"null",
    "empty": lambda good, cap: b"",
    "cut short": lambda good, cap: json.dumps(good).encode()[:100],
    "cut at half": lambda good, cap: (text := json.dumps(good).encode())[: len(text) // 2],
    "not JSON": lambda good, cap: b"\x00\xff not json",
    "binary": lambda good, cap: bytes(range(256)) * 64,
    "a number past Python's digit limit": lambda good, cap: b'{"format": ' + b"9" * 5000 + b"}",
    "nested past the reader's depth bound": lambda good, cap: b"[" * 100_000,
    "a typo in a plan's SQL, its digest stale": lambda good, cap: _edited_plan(
        good, "bump", _typo_in_sql
    ),
    "two of a plan's values swapped, its digest stale": lambda good, cap: _edited_plan(
        good, "put_serve_app", _swap_name_and_route
    ),
    "bigger than the cap": _padded_past,
}


# -- things in a file's place ---------------------------------------------------------
# Each puts something at ``path`` instead of the file that belongs there, whose good
# content is ``good``; whatever it makes beside it goes in ``outside``, which a reader of
# ``path`` must leave as it was.

FilePlace = Callable[[Path, Path, bytes], None]


def listing(directory: Path) -> list[tuple[str, int, int, int, int]]:
    """Each entry's name, type and mode, size, inode and change time, links not followed:
    equal before and after a run when the run wrote, created and replaced nothing there."""
    entries = []
    for name in sorted(os.listdir(directory)):
        info = os.lstat(directory / name)
        entries.append((name, info.st_mode, info.st_size, info.st_ino, info.st_mtime_ns))
    return entries


def release_fifo_readers(path: Path) -> None:
    """Let a process still waiting to open the FIFO ``path`` go on (it then reads an
    end of file): a test that failed must not leave a hung process behind it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no reader waits (ENXIO), or nothing is there any more
    os.close(fd)


def _unreadable(path: Path, outside: Path, good: bytes) -> None:
    # Root reads it all the same (the tests run as root here): the reader then finds
    # half of the good content rather than none.
    path.write_bytes(good[: len(good) // 2])
    path.chmod(0)


def _fifo_elsewhere(path: Path, outside: Path, good: bytes) -> None:
    os.mkfifo(outside / "fifo")
    path.symlink_to(outside / "fifo")


def _big_file_elsewhere(path: Path, outside: Path, good: bytes) -> None:
    with (outside / "big").open("wb") as big:
        big.truncate(1 << 30)  # sparse: 1 GiB of zeros that takes no room
    path.symlink_to(outside / "big")


def _good_file_elsewhere(path: Path, outside: Path, good: bytes) -> None:
    (outside / "elsewhere").write_bytes(good)
    path.symlink_to(outside / "elsewhere")


def _hard_link_elsewhere(path: Path, outside: Path, good: bytes) -> None:
    (outside / "elsewhere").write_bytes(b"not json")
    os.link(outside / "elsewhere", path)


FILE_PLACES: dict[str, FilePlace] = {
    "unreadable (mode 000)": _unreadable,
    "a FIFO": lambda path, outside, good: os.mkfifo(path),
    "a symlink to a FIFO elsewhere": _fifo_elsewhere,
    "a symlink to the reader's standard input": lambda path, outside, good: path.symlink_to(
        "/proc/self/fd/0"
    ),
    "a symlink to an endless device": lambda path, outside, good: path.symlink_to("/dev/zero"),
    "a symlink to a file past the cap": _big_file_elsewhere,
    "a symlink to a good file elsewhere": _good_file_elsewhere,
    "a symlink to a directory elsewhere": lambda path, outside, good: path.symlink_to(outside),
    "a dangling symlink into another directory": lambda path, outside, good: path.symlink_to(
        outside / "elsewhere"
    ),
    "a symlink to itself": lambda path, outside, good: path.symlink_to(path),
    "a hard link to a file elsewhere": _hard_link_elsewhere,
}
