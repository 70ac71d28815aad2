"""The directory source: a plain tree on disk, read into a Snapshot.

The revision is a content digest (``dir:<sha256>``), so two reads of the same files
give the same revision and any edit gives a new one. Symlinks are recorded, never
followed; a FIFO, socket or device is refused at its name, never opened; VCS metadata
(``.git/`` …) and an engine's state directory inside the tree (``./.gitsync`` below the
directory synced by default) are skipped. :class:`DirectoryWatcher` turns bursts of file-system events
(an editor's save, a ``git checkout``) into one callback.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from gitsync.config.snapshot import Snapshot
from gitsync.errors import SourceError, UnsafeInput
from gitsync.localfile import FileTooLarge, NotRegularFile, kind_of, read_regular
from gitsync.sources.collect import (
    DEFAULT_LIMITS,
    STATE_LOCK_NAME,
    VCS_DIRS,
    Limits,
    SnapshotBuilder,
    check_size,
    normalize_subpath,
)

if TYPE_CHECKING:  # watchdog costs ~0.1 s to import: only the watcher pays for it
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers.api import BaseObserver

_log = logging.getLogger(__name__)

REVISION_PREFIX = "dir:"

_KINDS = "a config tree holds regular files, directories and symbolic links only"


def read_directory(
    root: Path,
    *,
    subpath: str = "",
    max_file_bytes: int = DEFAULT_LIMITS.max_file_bytes,
    max_total_bytes: int = DEFAULT_LIMITS.max_total_bytes,
    max_files: int = DEFAULT_LIMITS.max_files,
) -> Snapshot:
    """Read every regular file below ``root/subpath`` into a Snapshot.

    Paths in the snapshot are relative to ``root/subpath``. Raises SourceError when the
    directory cannot be read and UnsafeInput when a cap is exceeded or ``subpath``
    leaves ``root``.
    """
    limits = Limits(max_file_bytes, max_total_bytes, max_files)
    base = resolve_base(root, subpath)
    builder = SnapshotBuilder(limits)
    _walk(base, builder)
    meta = {"source": str(root)}
    clean = normalize_subpath(subpath)
    if clean:
        meta["subpath"] = clean
    return builder.build(REVISION_PREFIX + builder.content_digest(), meta)


def resolve_base(root: Path, subpath: str) -> Path:
    """``root/subpath`` resolved, checked to be a directory inside ``root``."""
    clean = normalize_subpath(subpath)
    try:
        real_root = root.resolve(strict=True)
    except OSError as exc:
        raise SourceError(f"directory {root} cannot be read: {_reason(exc)}") from exc
    if not real_root.is_dir():
        raise SourceError(f"{root} is not a directory")
    base = (real_root / clean).resolve() if clean else real_root
    # A symlink inside the tree could still point the subpath elsewhere.
    if base != real_root and not base.is_relative_to(real_root):
        raise UnsafeInput(f"subpath {subpath!r} resolves outside {root}")
    if not base.is_dir():
        raise SourceError(f"subpath {clean!r} is not a directory in {root}")
    return base


def _walk(base: Path, builder: SnapshotBuilder) -> None:
    """Every entry below ``base``, depth first in name order. A stack, not recursion: a
    tree nested a thousand directories deep is a tree, not a crash."""
    stack = [("", iter(_entries(base)))]
    while stack:
        prefix, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        rel = _relative_name(prefix, entry.name, entry.path)
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except FileNotFoundError:
            continue  # deleted while we walked; the watcher will trigger a new read
        except OSError as exc:
            raise SourceError(f"{rel} cannot be read: {_reason(exc)}") from exc
        if entry.name in VCS_DIRS:
            continue
        if stat.S_ISLNK(mode):
            builder.add_symlink(rel)
        elif stat.S_ISDIR(mode):
            entries_below = _entries(Path(entry.path))
            if not any(below.name == STATE_LOCK_NAME for below in entries_below):
                stack.append((rel, iter(entries_below)))
        elif stat.S_ISREG(mode):
            data = _read_file(Path(entry.path), rel, builder.limits)
            if data is not None:
                builder.add_file(rel, data)
        else:
            # Left out, a FIFO named serve.yaml would take its applications out of the
            # config without a word; read, it would block the reader for ever.
            raise SourceError(f"{rel} is {kind_of(mode)}, not a regular file: {_KINDS}")


def _in_state_directory(real_root: str, rel: str) -> bool:
    """True when ``rel`` lies in a directory below the root that holds an engine's lock
    file (one stat per level of the path)."""
    parts = rel.split("/")[:-1]
    return any(
        os.path.isfile(os.path.join(real_root, *parts[: depth + 1], STATE_LOCK_NAME))
        for depth in range(len(parts))
    )


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as listing:
            return sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        raise SourceError(f"directory {directory} cannot be read: {_reason(exc)}") from exc


def _relative_name(prefix: str, name: str, path: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        shown = name.encode("utf-8", "backslashreplace").decode()
        directory = os.path.dirname(path)
        raise UnsafeInput(f"{directory}: file name {shown!r} is not valid UTF-8") from exc
    return f"{prefix}/{name}" if prefix else name


def _read_file(path: Path, rel: str, limits: Limits) -> bytes | None:
    """The file's bytes, or None when it vanished since the listing."""
    try:
        return read_regular(path, limits.max_file_bytes)
    except FileNotFoundError:
        return None
    except NotRegularFile as exc:  # swapped for a link, a FIFO ... since the listing
        raise SourceError(f"{rel} is {exc.kind}, not a regular file: {_KINDS}") from None
    except FileTooLarge as exc:
        check_size(rel, exc.size, limits)
        raise  # not reached: check_size refuses it
    except OSError as exc:
        raise SourceError(f"{rel} cannot be read: {_reason(exc)}") from exc


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# Reads (ours included: every snapshot opens each file) and metadata changes carry no
# new content; counting them would make the watcher trigger itself forever.
_IGNORED_EVENTS = frozenset({"opened", "closed_no_write", "attrib"})

ChangeCallback = Callable[[frozenset[str]], None]


class DirectoryWatcher:
    """Calls ``callback(changed_paths)`` once per burst of changes below ``root/subpath``.

    A burst ends after ``debounce_s`` without events, or at the latest ``max_delay_s``
    after its first event, so a never-ending stream of writes still syncs. Paths are
    relative to ``root/subpath``; events under ``.git/`` and other VCS directories are
    ignored. The callback runs on the watcher's own thread, one call at a time; an
    exception in it is logged and the watcher carries on.
    """

    def __init__(
        self,
        root: Path,
        callback: ChangeCallback,
        *,
        subpath: str = "",
        debounce_s: float = 0.1,
        max_delay_s: float = 2.0,
    ) -> None:
        self.root = root
        self.subpath = normalize_subpath(subpath)
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s
        self._callback = callback
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first_event = 0.0
        self._last_event = 0.0
        self._busy = False
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._real_root = ""

    def start(self) -> None:
        """Begin watching. The whole root is watched so that the subpath may be
        deleted and re-created (a ``git checkout`` does that) without losing the watch."""
        if self._worker is not None:
            raise RuntimeError("DirectoryWatcher already started")
        self._real_root = str(resolve_base(self.root, "")) + os.sep
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="gitsync-dir-watch", daemon=True)
        self._worker.start()
        from watchdog.observers import Observer

        observer = Observer()
        observer.schedule(_handler_for(self), self._real_root, recursive=True)
        observer.start()
        self._observer = observer

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop watching; a burst still pending is dropped, a running callback finishes."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout_s)
            self._observer = None
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout_s)
            self._worker = None

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no burst is pending and no callback runs; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def __enter__(self) -> DirectoryWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _relevant(self, raw_path: str) -> str | None:
        """The path relative to root/subpath, or None when the event is not ours."""
        if not raw_path.startswith(self._real_root):
            return None
        rel = raw_path[len(self._real_root) :].replace(os.sep, "/")
        if any(part in VCS_DIRS for part in rel.split("/")):
            return None
        if _in_state_directory(self._real_root, rel):
            return None  # the engine's own writes: reading them would trigger a sync each
        if not self.subpath:
            return rel
        if rel == self.subpath or self.subpath.startswith(rel + "/"):
            return "."  # the subpath itself (or a parent) was created, moved or deleted
        if rel.startswith(self.subpath + "/"):
            return rel[len(self.subpath) + 1 :]
        return None

    def _record(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a directory's mtime moved; the file event that caused it is enough
        raw = [os.fsdecode(event.src_path)]
        if event.dest_path:
            raw.append(os.fsdecode(event.dest_path))
        changed = {rel for rel in map(self._relevant, raw) if rel is not None}
        if not changed:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first_event = now
            self._last_event = now
            self._pending.update(changed)
            self._cond.notify_all()

    def _run(self) -> None:
        with self._cond:
            while not self._stopping:
                if not self._pending:
                    self._cond.wait()
                    continue
                due = min(self._last_event + self.debounce_s, self._first_event + self.max_delay_s)
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                batch = frozenset(self._pending)
                self._pending.clear()
                self._busy = True
                self._cond.release()
                try:
                    self._callback(batch)
                except Exception:
                    _log.exception("directory watch callback failed for %s", self.root)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()


def _handler_for(watcher: DirectoryWatcher) -> FileSystemEventHandler:
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            watcher._record(event)

    return Handler()
