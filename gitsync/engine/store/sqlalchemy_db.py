"""The store's database through SQLAlchemy: a shared PostgreSQL (psycopg 3), or the
embedded SQLite file when its compiled statements are not used.

Two connections, each kept open and replaced when broken: one for write transactions,
one in autocommit mode for reads. Prebuilt statements run through the runner
(``runner.py``); driver errors become StoreError here (StoreUnavailable, and both
connections dropped, when the database cannot be reached).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from gitsync.engine.store import migrate
from gitsync.engine.store.connect import SQLITE_BEGIN, SQLITE_PRAGMAS, StoreLocation
from gitsync.engine.store.database import FAILURE, OPEN_FAILURE, first_line
from gitsync.engine.store.runner import Bound, Runner
from gitsync.engine.store.statements import rows_of, statements
from gitsync.errors import StoreError, StoreUnavailable

_IDLE_CHECK_S = 1.0  # check a PostgreSQL connection unused for longer before use


def create_engine(location: StoreLocation) -> sa.Engine:
    """A SQLAlchemy engine. The store keeps one connection open and reconnects itself,
    so no pool is needed; SQLite writes take the write lock up front (IMMEDIATE)."""
    url = make_url(location.url)
    if location.state_dir is None:
        return sa.create_engine(
            url,
            poolclass=NullPool,
            connect_args={"connect_timeout": 5, "application_name": "gitsync-engine"},
        )
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql(SQLITE_BEGIN)

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


class SqlAlchemyDatabase:
    """The store's database on SQLAlchemy (see the module's docstring)."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self._statements = statements(location.shared)
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None  # writes
        self._reader: sa.Connection | None = None  # reads, in autocommit mode
        self._runner: Runner | None = None  # built with the engine (it needs the dialect)
        self._used: dict[bool, float] = {}  # when each connection was last handed out

    def open(self) -> None:
        self._engine = create_engine(self.location)
        prebuilt = vars(self._statements).values()
        self._runner = Runner(self._engine.dialect, prebuilt, named=self._statements)
        with self.guard(OPEN_FAILURE):
            migrate.upgrade(self._connection(), self.location)

    def close(self) -> None:
        for conn in (self._conn, self._reader):
            if conn is not None:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.close()
        self._conn = self._reader = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextlib.contextmanager
    def transaction(self, durable: bool) -> Iterator[Bound]:
        with self.guard():
            conn = self._connection()
            sqlite_durable = durable and not self.location.shared
            if sqlite_durable:
                _pragma(conn, "synchronous=FULL")
            try:
                with conn.begin():
                    yield Bound(conn, self._run())
            finally:
                if sqlite_durable and not conn.invalidated:
                    _pragma(conn, "synchronous=NORMAL")

    def read(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        with self.guard():
            return list(self._run().execute(self._reader_connection(), statement, params).all())

    def write_alone(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        if not self.location.shared:
            with self.transaction(durable=True) as conn:
                return list(conn.execute(statement, params).all())
        # The autocommit connection: the statement commits itself when it ends.
        return self.read(statement, params)

    def table_batches(self, table: Any) -> Iterator[list[dict[str, Any]]]:
        with self.guard():
            yield from rows_of(self._reader_connection(), table)

    def sqlite_connection(self) -> Any:
        return self._connection().connection.dbapi_connection

    def _run(self) -> Runner:
        if self._runner is None:
            raise StoreError("The state store is not open")
        return self._runner

    def _connection(self) -> sa.Connection:
        self._conn = self._fresh(self._conn, autocommit=False)
        return self._conn

    def _reader_connection(self) -> sa.Connection:
        self._reader = self._fresh(self._reader, autocommit=True)
        return self._reader

    def _fresh(self, conn: sa.Connection | None, *, autocommit: bool) -> sa.Connection:
        """A usable connection: ``conn``, or a new one when it is missing, broken, or (on
        PostgreSQL) idle for a while and no longer answering, e.g. after the server
        restarted, so the first request after an outage does not fail for it."""
        if self._engine is None:
            raise StoreError("The state store is not open")
        now = time.monotonic()
        usable = conn is not None and not conn.invalidated and not conn.closed
        idle = now - self._used.get(autocommit, now) > _IDLE_CHECK_S
        if usable and self.location.shared and idle:
            assert conn is not None
            usable = _answers(conn)
        if not usable or conn is None:
            if conn is not None:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.invalidate()
                    conn.close()
            conn = self._engine.connect()
            if autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        self._used[autocommit] = now
        return conn

    @contextlib.contextmanager
    def guard(self, failure: str = FAILURE) -> Iterator[None]:
        """Foreign errors become StoreError (caused by the driver's own error); a lost
        connection becomes StoreUnavailable (503) and is dropped, so the next call
        connects again."""
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            where = self.location.describe()
            cause = getattr(exc, "orig", None) or exc
            if is_disconnect(exc):
                for conn in (self._conn, self._reader):
                    if conn is not None:
                        with contextlib.suppress(sa.exc.SQLAlchemyError):
                            conn.invalidate()
                raise StoreUnavailable(
                    f"The state store '{where}' cannot be reached: {first_line(exc)}"
                ) from cause
            raise StoreError(f"{failure} '{where}': {first_line(exc)}") from cause


def _answers(conn: sa.Connection) -> bool:
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql("SELECT 1")
        if conn.in_transaction():
            conn.rollback()
    except sa.exc.SQLAlchemyError:
        return False
    return True


def _pragma(conn: sa.Connection, setting: str) -> None:
    """On the DBAPI connection itself: SQLAlchemy would begin a transaction first, and
    SQLite refuses to change the safety level inside one."""
    conn.connection.dbapi_connection.execute(f"PRAGMA {setting}")  # type: ignore[union-attr]
