"""Where the store lives and how to reach it: an embedded SQLite file in the state
directory (one writer process, an exclusive ``flock``), or a PostgreSQL database
shared by several engines (``postgresql://…``, driven by psycopg 3).

Nothing here loads SQLAlchemy at import: a process opening an embedded store whose
compiled statements are cached never loads it (see ``sqlite_db.py``).
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import NamedTuple

from gitsync.errors import BadRequest, LockHeld, StoreError, StoreUnavailable
from gitsync.localfile import NotRegularFile, kind_of, open_lock_file

DB_NAME = "engine.sqlite3"
LOCK_NAME = "engine.lock"
STORE_ENV = "GITSYNC_STORE"
__all__ = ["StoreError", "StoreUnavailable"]  # re-exported: the store's errors live in errors.py
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
# How every SQLite connection of the store is set up, on either path: write-ahead log,
# fsync at checkpoints (activations ask for FULL), wait up to 5 s for a busy database.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000")
SQLITE_BEGIN = "BEGIN IMMEDIATE"  # writes take the write lock up front


class StoreLocation(NamedTuple):
    """``url`` for SQLAlchemy (a PostgreSQL URL with its password); ``state_dir`` only
    for the embedded SQLite store."""

    url: str
    state_dir: Path | None

    @property
    def shared(self) -> bool:
        """True when several engines may use the store at once (PostgreSQL)."""
        return self.state_dir is None

    @property
    def sqlite_path(self) -> Path:
        """The embedded store's database file."""
        assert self.state_dir is not None, "a shared store has no file"
        return self.state_dir / DB_NAME

    def describe(self) -> str:
        """For messages: the directory, or the URL without its password."""
        if self.state_dir is not None:
            return str(self.state_dir)
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


def locate(state_dir: Path, store: str | None = None) -> StoreLocation:
    """The store for ``--store`` (None or "" = SQLite in ``state_dir``)."""
    if not store:
        return StoreLocation(f"sqlite:///{state_dir / DB_NAME}", state_dir)
    from sqlalchemy.engine import make_url

    try:
        url = make_url(store)
    except Exception as exc:  # SQLAlchemy's ArgumentError: not a URL at all
        raise BadRequest(f"--store must be a postgresql:// URL, got '{store}'") from exc
    if url.drivername not in _PG_SCHEMES:
        raise BadRequest(
            f"--store must be a postgresql:// URL, got a '{url.drivername}' URL "
            "(leave --store out for the embedded SQLite store)"
        )
    driven = url.set(drivername="postgresql+psycopg")
    return StoreLocation(driven.render_as_string(hide_password=False), None)


class DirLock:
    """One engine per SQLite state directory: an exclusive ``flock`` held while open."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_lock_file(self.path, os.O_RDWR, create=True)
        except NotRegularFile as exc:
            raise StoreError(
                f"Cannot open the state store in '{self.path.parent}': its lock file {exc}; "
                "remove it (no engine holds it) and try again"
            ) from None
        except OSError as exc:
            raise StoreError(f"Cannot open the state store in '{self.path.parent}': {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise LockHeld(
                f"State directory '{self.path.parent}' is in use by another gitsync engine "
                f"(lock file '{self.path}' is held)"
            ) from exc
        self._fd = fd
        try:
            _check_database_files(self.path.parent)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# SQLite's own files beside the database: it opens each without looking at what it is.
_DATABASE_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal")


def _check_database_files(state_dir: Path) -> None:
    """Refuse the store when the database or one of SQLite's files beside it is not a
    regular file of the state directory: SQLite would follow a link anywhere, and wait
    for ever on a FIFO in its journal's place."""
    for name in _DATABASE_FILES:
        try:
            mode = os.lstat(state_dir / name).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"Cannot open the state store in '{state_dir}': {exc}") from exc
        if not stat.S_ISREG(mode):
            raise StoreError(
                f"Cannot open the state store in '{state_dir}': {name} is {kind_of(mode)}, "
                "not a regular file; move it out of the state directory"
            )
