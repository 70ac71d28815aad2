"""Compile the store's statements into plans for the embedded SQLite store
(``plan_cache.py``), with SQLAlchemy: loaded only when a plan is missing.

The plan holds what the runner (``runner.py``) works out for a statement and a set of
parameter keys: the SQL text and, per parameter, whether its value is the caller's or
the statement's own constant, and how SQLAlchemy converts it. Conversions other than the
plain ones, values SQLAlchemy builds at execution and non-plain results make a plan that
uses SQLAlchemy's callables, kept in memory only. A statement SQLAlchemy rewrites at
execution (expanding IN lists, literal parameters) is not the store's kind: refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import processors

from gitsync.engine.store import migrate
from gitsync.engine.store.connect import StoreLocation
from gitsync.engine.store.plan_cache import CONSTANTS, CONVERSIONS, Plan, Source
from gitsync.engine.store.runner import _Plan
from gitsync.engine.store.sqlalchemy_db import create_engine
from gitsync.engine.store.statements import statements
from gitsync.errors import StoreError

REVISION = "schema_revision"  # the schema's Alembic revision, read at every open
_CONVERSION_NAMES = {processors.to_float: "float"}


class PlanCompiler:
    """SQLAlchemy's SQLite dialect, as the SQLAlchemy path configures it, and the
    store's prebuilt statements by name."""

    def __init__(self, location: StoreLocation) -> None:
        self._dialect = create_engine(location).dialect
        self._statements = statements(location.shared)

    def statement(self, name: str) -> Any:
        if name == REVISION:
            return migrate.revision_query
        return getattr(self._statements, name)

    def named_plans(self) -> Iterator[tuple[str, frozenset[str], bool, Plan]]:
        """Every prebuilt statement compiled as the store runs it: what a process
        compiling anyway saves for the next, so that one finds the statements this one
        did not run too. Most take their own named parameters (``p_…``); an insert
        taking its values from the caller's rows is compiled for a row of every column
        of its table, one row and many (the store writes whole rows)."""
        for name, statement in [
            (REVISION, migrate.revision_query),
            *vars(self._statements).items(),
        ]:
            binds = statement.compile(dialect=self._dialect).binds.values()
            if not any(bind.required and not bind.key.startswith("p_") for bind in binds):
                keys = frozenset(bind.key for bind in binds if bind.key.startswith("p_"))
                yield name, keys, False, self.compile(statement, keys, False)
            elif isinstance(statement, sa.Insert):
                row = frozenset(column.key for column in statement.table.columns)
                for many in (False, True):
                    yield name, row, many, self.compile(statement, row, many)

    def compile(self, statement: Any, keys: frozenset[str], many: bool) -> Plan:
        dialect = self._dialect
        compiled = statement.compile(
            dialect=dialect, column_keys=sorted(keys), for_executemany=many
        )
        if (
            compiled.escaped_bind_names
            or compiled.literal_execute_params
            or compiled.post_compile_params
        ):
            raise StoreError(
                "A store statement is rewritten by SQLAlchemy at execution, which the "
                f"embedded store does not do: {str(compiled)[:200]}"
            )
        columns = list(getattr(statement, "exported_columns", ()))
        plan = _Plan(compiled, dialect, keys, bool(columns))
        types = {name: bind.type for bind, name in compiled.bind_names.items()}
        assert plan.positional, "SQLite's driver takes positional parameters"
        sources: list[Source] = []
        converters: dict[str, Any] = {}
        construct = not plan.exact  # values SQLAlchemy builds at execution
        saved = True
        for index, (name, key, default, required, process) in enumerate(plan.slots):
            given = key if key in keys else name if name in keys else None
            if given is None:
                construct = construct or required  # SQLAlchemy reports the missing key
                value = process(default) if process is not None and default is not None else default
                saved = saved and isinstance(value, CONSTANTS)
                sources.append((None, value, None))
                continue
            conversion = None if process is None else _conversion(process, types[name], dialect)
            if process is not None and conversion is None:
                conversion = f"sqlalchemy-{index}"
                converters[conversion] = process
                saved = False
            sources.append((given, None, conversion))
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        return Plan(
            plan.sql,
            sources,
            converters={**CONVERSIONS, **converters},
            construct=plan._constructed if construct else None,
            results=results if any(p is not None for p in results) else None,
            saved=saved,
        )


def _conversion(process: Any, type_: Any, dialect: sa.Dialect) -> str | None:
    """The name of a plain conversion (plan_cache.CONVERSIONS) SQLAlchemy's ``process``
    does, if it is one: floats, and bytes as the driver's Binary (a closure)."""
    if process in _CONVERSION_NAMES:
        return _CONVERSION_NAMES[process]
    binary = isinstance(type_.dialect_impl(dialect), sa.LargeBinary)
    if binary and dialect.loaded_dbapi.Binary is sqlite3.Binary:
        return "binary"
    return None
