"""Config files and directories on disk, loaded as one snapshot (``gitsync validate``
and the validation bench): what the CLI's ``validate`` reads before the loader runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from gitsync.config.issues import Issue
from gitsync.config.loader import LoadResult, load_snapshot
from gitsync.config.schema import UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.errors import SourceError, UnsafeInput
from gitsync.localfile import FileTooLarge, NotRegularFile, read_regular
from gitsync.sources.collect import DEFAULT_LIMITS, SnapshotBuilder, check_size
from gitsync.sources.directory import read_directory


def load_paths(
    paths: Sequence[Path], *, root: Path | None = None, unknown_keys: UnknownKeys | None = None
) -> LoadResult:
    """Load config files and directories from disk (the CLI's ``validate`` and the bench).

    A single directory is the snapshot root; for files, ``root`` (default: the current
    directory) is. Issue file names are relative to the current directory when possible.
    """
    if len(paths) == 1 and paths[0].is_dir():
        base = paths[0]
        snapshot = read_directory(base)
        result = load_snapshot(snapshot, unknown_keys=unknown_keys)
    else:
        # Files: relative working_dir paths resolve from ``root`` (default: the current
        # directory). Only the files named and the code directories they use are read.
        base = root or Path.cwd()
        snapshot = _files_snapshot(paths, base)
        names = [_relative(p, base) for p in paths]
        result = load_snapshot(snapshot, files=names, unknown_keys=unknown_keys)
        code = _code_files(base, result.missing_code_paths)
        if code:
            snapshot = Snapshot(snapshot.revision, {**code, **snapshot.files})
            result = load_snapshot(snapshot, files=names, unknown_keys=unknown_keys)
    display = _display_prefix(base)
    if display:
        result.issues = [
            Issue(
                display + i.file if i.file else i.file,
                i.line,
                i.column,
                i.path,
                i.severity,
                i.message,
                i.rule,
            )
            for i in result.issues
        ]
    return result


def read_stdin(stream: BinaryIO) -> bytes:
    """One config from ``stream``, of at most the cap on one file: ``gitsync validate -``
    given ``/dev/zero`` or an endless pipe stops there, with UnsafeInput."""
    limit = DEFAULT_LIMITS.max_file_bytes
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UnsafeInput(f"<stdin>: more than {limit} bytes, over the limit of one file")
    return data


def load_stdin(
    data: bytes, *, root: Path | None = None, unknown_keys: UnknownKeys | None = None
) -> LoadResult:
    """One config read from stdin; relative working_dir paths resolve from ``root``
    (default: the current directory), as for files."""
    names = ["<stdin>"]
    result = load_snapshot(
        Snapshot("stdin", {"<stdin>": data}), files=names, unknown_keys=unknown_keys
    )
    code = _code_files(root or Path.cwd(), result.missing_code_paths)
    if code:
        snapshot = Snapshot("stdin", {**code, "<stdin>": data})
        result = load_snapshot(snapshot, files=names, unknown_keys=unknown_keys)
    return result


def _code_files(base: Path, dirs: Sequence[str]) -> dict[str, bytes]:
    """The files of the local code directories ``dirs`` below ``base`` that exist."""
    files: dict[str, bytes] = {}
    for rel in dirs:
        if not (base / rel).is_dir() or (base / rel).is_symlink():
            continue
        snapshot = read_directory(base, subpath=rel)
        files.update({f"{rel}/{name}": data for name, data in snapshot.files.items()})
    return files


def _files_snapshot(paths: Sequence[Path], base: Path) -> Snapshot:
    builder = SnapshotBuilder(DEFAULT_LIMITS)
    for path in paths:
        rel = _relative(path, base)
        try:
            # Named on the command line: a link is followed, as the user meant; what it
            # leads to is still read only if it is a regular file within the cap.
            data = read_regular(path, DEFAULT_LIMITS.max_file_bytes, follow_links=True)
        except NotRegularFile as exc:
            hint = " (give - to read standard input)" if exc.kind != "a directory" else ""
            raise SourceError(
                f"cannot read {path}: it is {exc.kind}, not a regular file{hint}"
            ) from None
        except FileTooLarge as exc:
            check_size(path.as_posix(), exc.size, DEFAULT_LIMITS)
            raise  # not reached: check_size refuses it
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
        builder.add_file(rel, data)
    return Snapshot("files", builder.files)


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a link loop (Python 3.11)
        return path.as_posix()


def _display_prefix(base: Path) -> str:
    try:
        rel = base.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        rel = base.as_posix()
    return "" if rel in ("", ".") else rel.rstrip("/") + "/"
