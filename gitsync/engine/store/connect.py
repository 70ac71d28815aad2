"""Where the store lives and how to reach it: an embedded SQLite file in the state
directory (one writer process, an exclusive ``flock``), or a PostgreSQL database
shared by several engines (``postgresql://…``, driven by psycopg 3).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from gitsync.errors import BadRequest, LockHeld, StoreError, StoreUnavailable

DB_NAME = "engine.sqlite3"
LOCK_NAME = "engine.lock"
STORE_ENV = "GITSYNC_STORE"
__all__ = ["StoreError", "StoreUnavailable"]  # re-exported: the store's errors live in errors.py
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """``url`` for SQLAlchemy; ``state_dir`` only for the embedded SQLite store."""

    url: URL
    state_dir: Path | None

    @property
    def shared(self) -> bool:
        """True when several engines may use the store at once (PostgreSQL)."""
        return self.state_dir is None

    def describe(self) -> str:
        """For messages: the directory, or the URL without its password."""
        if self.state_dir is not None:
            return str(self.state_dir)
        return self.url.render_as_string(hide_password=True)


def locate(state_dir: Path, store: str | None = None) -> StoreLocation:
    """The store for ``--store`` (None or "" = SQLite in ``state_dir``)."""
    if not store:
        return StoreLocation(make_url(f"sqlite:///{state_dir / DB_NAME}"), state_dir)
    try:
        url = make_url(store)
    except Exception as exc:  # SQLAlchemy's ArgumentError: not a URL at all
        raise BadRequest(f"--store must be a postgresql:// URL, got '{store}'") from exc
    if url.drivername not in _PG_SCHEMES:
        raise BadRequest(
            f"--store must be a postgresql:// URL, got a '{url.drivername}' URL "
            "(leave --store out for the embedded SQLite store)"
        )
    return StoreLocation(url.set(drivername="postgresql+psycopg"), None)


class DirLock:
    """One engine per SQLite state directory: an exclusive ``flock`` held while open."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def create_engine(location: StoreLocation) -> sa.Engine:
    """A SQLAlchemy engine. The store keeps one connection open and reconnects itself,
    so no pool is needed; SQLite writes take the write lock up front (IMMEDIATE)."""
    if location.state_dir is None:
        return sa.create_engine(
            location.url,
            poolclass=NullPool,
            connect_args={"connect_timeout": 5, "application_name": "gitsync-engine"},
        )
    engine = sa.create_engine(
        location.url, poolclass=NullPool, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_disconnect(exc: BaseException) -> bool:
    """A lost or refused connection (the database is down), not a bad statement."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not isinstance(
        getattr(exc, "orig", None), _sqlite_errors()
    )


def _sqlite_errors() -> tuple[type[BaseException], ...]:
    import sqlite3

    return (sqlite3.Error,)
