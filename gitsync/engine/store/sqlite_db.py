"""The embedded SQLite store on ``sqlite3`` itself, running compiled plans.

Each statement runs as its plan (``plan_cache.py``): the SQL text SQLAlchemy compiled
for it, with the parameters in place. Plans missing from the state directory's cache
are compiled with SQLAlchemy (``plan_compiler.py``, loaded then) and saved at close, so
a process whose plans are all cached (a push hook after the first push) never loads
SQLAlchemy. The schema's revision is read with a plan too; Alembic is loaded only when
an upgrade is due (through ``sqlalchemy_db.py``).

Everything else is what the SQLAlchemy path does on SQLite: the same pragmas, one
connection for write transactions (``BEGIN IMMEDIATE``, commit or rollback), one in
autocommit mode for reads, and driver errors turned into the same StoreError messages.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gitsync.engine.store.connect import SQLITE_BEGIN, SQLITE_PRAGMAS, StoreLocation
from gitsync.engine.store.database import FAILURE, OPEN_FAILURE, Params, Rows, first_line
from gitsync.engine.store.plan_cache import Plan, PlanCache
from gitsync.errors import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from gitsync.engine.store.plan_compiler import PlanCompiler

REVISION = "schema_revision"  # plan_compiler.REVISION, without loading it
_BATCH = 500
_NO_PARAMS: Mapping[str, Any] = {}


class SqliteDatabase:
    """The embedded store on ``sqlite3`` (see the module's docstring)."""

    def __init__(self, location: StoreLocation) -> None:
        assert location.state_dir is not None
        self.location = location
        self.plans = PlanCache(location.state_dir)
        self._compiler: PlanCompiler | None = None
        self._found: dict[tuple[str, frozenset[str], bool], Plan] = {}  # plans met so far
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        self.plans.load()
        with self._guard(OPEN_FAILURE):
            revision = self._revision()
        if revision is None or revision != self.plans.head:
            self._upgrade()

    def close(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        self._writer = self._reader = None
        self.plans.save()

    def _revision(self) -> str | None:
        """The schema's revision; None when the database has none yet (a new file)."""
        try:
            rows = self._execute(self._writer_connection(), REVISION, None)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return str(rows.scalar()) if rows.scalar() is not None else None

    def _upgrade(self) -> None:
        """Bring the schema to the newest revision, as the SQLAlchemy path does (with
        Alembic when needed), and note the revision the plans are for."""
        from gitsync.engine.store import migrate
        from gitsync.engine.store.sqlalchemy_db import SqlAlchemyDatabase

        upgrading = SqlAlchemyDatabase(self.location)
        try:
            upgrading.open()
        finally:
            upgrading.close()
        self.plans.set_head(migrate.HEAD)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.location.sqlite_path, check_same_thread=False, isolation_level=None
        )
        try:
            for pragma in SQLITE_PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._connect()
        return self._writer

    def _reader_connection(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = self._connect()
        return self._reader

    # -- the store's calls -------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, durable: bool) -> Iterator[_Bound]:
        with self._guard():
            conn = self._writer_connection()
            if durable:
                conn.execute("PRAGMA synchronous=FULL")
            try:
                conn.execute(SQLITE_BEGIN)
                try:
                    yield _Bound(self, conn)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            finally:
                if durable and self._writer is conn:
                    conn.execute("PRAGMA synchronous=NORMAL")

    def read(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        with self._guard():
            return self._execute(self._reader_connection(), statement, params).all()

    def write_alone(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        with self.transaction(durable=True) as conn:
            return list(conn.execute(statement, params).all())

    def table_batches(self, table: Any) -> Iterator[list[dict[str, Any]]]:
        import sqlalchemy as sa  # copying a store: a command of its own

        query = sa.select(table).order_by(*table.primary_key.columns)
        plan = self._compile(query, frozenset(), False)
        with self._guard():
            cursor = self._reader_connection().execute(plan.sql, plan.arguments(_NO_PARAMS))
            try:
                names = [column[0] for column in cursor.description]
                while batch := cursor.fetchmany(_BATCH):
                    yield [dict(zip(names, row, strict=True)) for row in plan.rows(batch)]
            finally:
                cursor.close()

    def sqlite_connection(self) -> Any:
        return self._writer_connection()

    # -- running plans -----------------------------------------------------------------

    def _execute(self, conn: sqlite3.Connection, statement: Any, params: Params) -> Rows:
        batch: Sequence[Mapping[str, Any]]
        if params is None:
            batch = (_NO_PARAMS,)
        elif isinstance(params, Mapping):
            batch = (params,)
        else:
            batch = params or (_NO_PARAMS,)
        many = len(batch) > 1
        plan = self._plan(statement, frozenset(batch[0]), many)
        if many:
            cursor = conn.executemany(plan.sql, [plan.arguments(one) for one in batch])
        else:
            cursor = conn.execute(plan.sql, plan.arguments(batch[0]))
        try:
            rows = cursor.fetchall() if cursor.description is not None else []
            rowcount = cursor.rowcount
        finally:
            cursor.close()
        return Rows(plan.rows(rows), rowcount)

    def _plan(self, statement: Any, keys: frozenset[str], many: bool) -> Plan:
        if not isinstance(statement, str):  # built for this call: compiled for it
            return self._compile(statement, keys, many)
        # Every statement runs through here: a tuple lookup, before the cache's own keys.
        found = self._found.get((statement, keys, many))
        if found is not None:
            return found
        plan = self.plans.get(statement, keys, many)
        if plan is None:
            compiler = self._compiling()
            plan = compiler.compile(compiler.statement(statement), keys, many)
            self.plans.add(statement, keys, many, plan)
        self._found[(statement, keys, many)] = plan
        return plan

    def _compile(self, statement: Any, keys: frozenset[str], many: bool) -> Plan:
        return self._compiling().compile(statement, keys, many)

    def _compiling(self) -> PlanCompiler:
        """SQLAlchemy's compiler, loaded on the first missing plan; it then compiles the
        other prebuilt statements too, for the processes to come."""
        if self._compiler is None:
            from gitsync.engine.store.plan_compiler import PlanCompiler

            self._compiler = PlanCompiler(self.location)
            for name, keys, many, plan in self._compiler.named_plans():
                if self.plans.get(name, keys, many) is None:
                    self.plans.add(name, keys, many, plan)
        return self._compiler

    @contextlib.contextmanager
    def _guard(self, failure: str = FAILURE) -> Iterator[None]:
        """sqlite3's errors become the StoreError the SQLAlchemy path raises for them;
        a closed connection (SQLAlchemy's only SQLite "disconnect") is StoreUnavailable,
        and both connections are dropped so the next call connects again."""
        try:
            yield
        except sqlite3.Error as exc:
            where = self.location.describe()
            if isinstance(exc, sqlite3.ProgrammingError) and "closed database" in str(exc):
                for conn in (self._writer, self._reader):
                    if conn is not None:
                        with contextlib.suppress(sqlite3.Error):
                            conn.close()
                self._writer = self._reader = None
                raise StoreUnavailable(
                    f"The state store '{where}' cannot be reached: {first_line(exc)}"
                ) from exc
            raise StoreError(f"{failure} '{where}': {first_line(exc)}") from exc


class _Bound:
    """The writer connection inside a transaction (what ``Store._tx`` yields)."""

    __slots__ = ("_database", "_conn")

    def __init__(self, database: SqliteDatabase, conn: sqlite3.Connection) -> None:
        self._database = database
        self._conn = conn

    def execute(self, statement: Any, params: Params = None) -> Rows:
        return self._database._execute(self._conn, statement, params)
