"""The store's prebuilt statements, compiled once and run on the DBAPI cursor.

SQLAlchemy's ``Connection.execute`` costs 20-40 µs of Python per statement (the
execution context, events, the result object) even when its compiled cache hits, two
to five times what SQLite takes to run one; an activation runs about fifteen. The
store's statements are built once (statements.py), so each is compiled here once per
set of parameter names, and runs as the driver's own ``execute`` with SQLAlchemy's
parameter defaults and bind processors applied. A statement whose result needs
SQLAlchemy's processing (a type outside the plain ones below), or that is not one of
the prebuilt statements, goes through ``Connection.execute`` as before. Driver errors
are raised as SQLAlchemy raises them (a lost connection invalidates the connection).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

import sqlalchemy as sa

from gitsync.engine.store.database import Rows

# Result types the drivers return as the store wants them (no result processor).
_PLAIN_RESULTS = (sa.Integer, sa.String, sa.LargeBinary, sa.Float)

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class _Plan:
    """One statement compiled for one dialect and one set of parameter names."""

    def __init__(
        self,
        compiled: sa.engine.Compiled,
        dialect: sa.Dialect,
        keys: Iterable[str],
        returns_rows: bool,
    ) -> None:
        assert isinstance(compiled, sa.sql.compiler.SQLCompiler)
        self.compiled = compiled
        self.sql = str(compiled)
        # Known from the statement: psycopg builds a column object per field each time
        # its cursor's description is asked.
        self.returns_rows = returns_rows
        self.positional = compiled.positional
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names = list(compiled.positiontup or ()) if self.positional else list(by_name)
        # What construct_params does, unrolled: per bound parameter, the caller's value
        # (by key, then by compiled name) or the statement's own, then the type's bind
        # processor. A parameter whose value is computed at execution leaves it to
        # construct_params.
        self.exact = all(bind.callable is None for bind in by_name.values())
        self.slots = [
            (
                name,
                by_name[name].key,
                by_name[name].value,
                by_name[name].required,
                by_name[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in names
        ]
        # A plan is made per set of caller keys, so where each value comes from is known
        # now: the caller's key or the statement's own constant.
        given = set(keys)
        self.names = [slot[0] for slot in self.slots]
        self.sources: list[tuple[str | None, Any, Any]] | None = None
        if self.exact and all(key in given or not req for _n, key, _d, req, _p in self.slots):
            self.sources = [
                (key if key in given else None, default, process)
                for _n, key, default, _r, process in self.slots
            ]
        # The commonest case, without a loop: every value the caller's, none converted.
        self.pick: Any = None
        if self.sources and all(key is not None and p is None for key, _, p in self.sources):
            self.pick = itemgetter(*(key for key, _d, _p in self.sources))
            self.single = len(self.sources) == 1
            # Named parameters under the caller's own keys: the caller's mapping as is.
            self.as_given = not self.positional and all(n == k for n, k, *_ in self.slots)

    def arguments(self, params: Mapping[str, Any]) -> Any:
        if self.pick is not None:
            if self.positional:
                return (self.pick(params),) if self.single else self.pick(params)
            if self.as_given:
                return params
        if self.sources is not None:
            values = []
            for key, value, process in self.sources:
                if key is not None:
                    value = params[key]
                if process is not None and value is not None:
                    value = process(value)
                values.append(value)
            return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))
        if not self.exact:
            return self._constructed(params)
        values = []
        for name, key, default, required, process in self.slots:
            value = params.get(key, _MISSING)
            if value is _MISSING:
                value = params.get(name, _MISSING)
                if value is _MISSING:
                    if required:
                        return self._constructed(params)  # raises SQLAlchemy's own error
                    value = default
            if process is not None and value is not None:
                value = process(value)
            values.append(value)
        if self.positional:
            return tuple(values)
        return {slot[0]: value for slot, value in zip(self.slots, values, strict=True)}

    def _constructed(self, params: Mapping[str, Any]) -> Any:
        values = self.compiled.construct_params(params, escape_names=False)
        for name, _key, _default, _required, process in self.slots:
            if process is not None and values.get(name) is not None:
                values[name] = process(values[name])
        if not self.positional:
            return values
        return tuple(values[slot[0]] for slot in self.slots)


_MISSING = object()
_Known = tuple[frozenset[str], bool, _Plan | None]  # parameter names, executemany, plan


class Bound:
    """A connection whose ``execute`` goes through the runner (what ``Store._tx`` yields)."""

    __slots__ = ("connection", "_runner")

    def __init__(self, connection: sa.Connection, runner: Runner) -> None:
        self.connection = connection
        self._runner = runner

    def execute(self, statement: Any, params: Params = None) -> Any:
        return self._runner.execute(self.connection, statement, params)


class Runner:
    """Runs ``statements`` (the store's prebuilt ones, also by name when ``named``) on a
    connection's DBAPI cursor."""

    def __init__(
        self, dialect: sa.Dialect, statements: Iterable[Any], named: object = None
    ) -> None:
        self._dialect = dialect
        self._named = named
        self._compiling, self._cursor = _native(dialect)
        # Per prebuilt statement (by id: they live as long as the runner), its plans.
        self._plans: dict[int, tuple[Any, list[_Known]]] = {
            id(stmt): (stmt, []) for stmt in statements if isinstance(stmt, sa.Executable)
        }

    def execute(self, conn: sa.Connection, statement: Any, params: Params = None) -> Any:
        """Rows, or SQLAlchemy's own result for a statement this runner does not take."""
        if isinstance(statement, str):
            statement = getattr(self._named, statement)
        known = self._plans.get(id(statement))
        if known is None or known[0] is not statement:
            return conn.execute(statement, params)  # built for this call: SQLAlchemy's cache
        batch: Sequence[Mapping[str, Any]]
        if params is None:
            batch = (_NO_PARAMS,)
        elif type(params) is dict or isinstance(params, Mapping):
            batch = (params,)
        else:
            batch = params
        if not batch:
            return conn.execute(statement, params)
        many = len(batch) > 1
        plan = self._plan(statement, known[1], batch[0], many)
        if plan is None:
            return conn.execute(statement, params)
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None
        cursor = self._cursor(dbapi_conn)
        arguments: Any = None
        try:
            if many:
                arguments = [plan.arguments(one) for one in batch]
                cursor.executemany(plan.sql, arguments)
            else:
                arguments = plan.arguments(batch[0])
                cursor.execute(plan.sql, arguments)
            # Both drivers return a list: no copy.
            rows = cast(list[Any], cursor.fetchall()) if plan.returns_rows else []
            rowcount = cursor.rowcount
        except self._dialect.loaded_dbapi.Error as exc:
            raise self._wrap(conn, exc, plan.sql, arguments, dbapi_conn, cursor) from exc
        finally:
            cursor.close()
        return Rows(rows, rowcount)

    def _plan(
        self, statement: Any, plans: list[_Known], params: Mapping[str, Any], many: bool
    ) -> _Plan | None:
        for keys, for_many, plan in plans:
            if for_many == many and params.keys() == keys:
                return plan
        found = self._compile(statement, tuple(sorted(params)), many)
        plans.append((frozenset(params), many, found))  # None: left to SQLAlchemy
        return found

    def _compile(self, statement: Any, keys: tuple[str, ...], many: bool) -> _Plan | None:
        compiled = statement.compile(
            dialect=self._compiling, column_keys=list(keys), for_executemany=many
        )
        if compiled.escaped_bind_names or compiled.literal_execute_params:
            return None  # parameters SQLAlchemy rewrites at execution time
        if compiled.post_compile_params:
            return None
        columns = list(getattr(statement, "exported_columns", ()))
        if not all(_plain(column.type) for column in columns):
            return None
        return _Plan(compiled, self._dialect, keys, bool(columns))

    def _wrap(
        self,
        conn: sa.Connection,
        exc: Any,
        sql: str,
        arguments: Any,
        dbapi_conn: Any,
        cursor: Any,
    ) -> sa.exc.StatementError:
        dialect = self._dialect
        lost = dialect.is_disconnect(exc, dbapi_conn, cursor)
        wrapped: sa.exc.StatementError = sa.exc.DBAPIError.instance(
            sql,
            arguments,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        )
        if lost:  # as SQLAlchemy does: the connection is dropped, not rolled back
            conn.invalidate(exc)
        return wrapped


_NO_PARAMS: Mapping[str, Any] = {}


def _native(dialect: sa.Dialect) -> tuple[sa.Dialect, Callable[[Any], Any]]:
    """The dialect to compile with and the cursor to run on. psycopg parses every query
    for its ``%(name)s`` placeholders (cached only for texts under 4 KB; an activation's
    write on PostgreSQL is longer): its raw cursor takes PostgreSQL's own ``$1`` and a
    sequence, parsing nothing, so the statements are compiled that way."""
    if dialect.driver != "psycopg":
        return dialect, lambda dbapi_conn: dbapi_conn.cursor()
    import psycopg

    compiling = copy.copy(dialect)
    compiling.paramstyle = "numeric_dollar"
    compiling.positional = True
    return compiling, psycopg.RawCursor


def _plain(type_: sa.types.TypeEngine[Any]) -> bool:
    if isinstance(type_, sa.Float) and type_.asdecimal:
        return False
    return isinstance(type_, _PLAIN_RESULTS)
