"""What the store asks of its database, whichever way it is driven: SQLAlchemy
(``sqlalchemy_db.py``: PostgreSQL, and SQLite when asked) or the embedded SQLite file on
``sqlite3`` with compiled statements (``sqlite_db.py``).

A statement is named (``"add_tenant"``: one of ``statements.Statements``, built or loaded
compiled by the database) or, for the rare one built for one call, a SQLAlchemy
statement. Every database failure leaves as a StoreError (StoreUnavailable when the
database cannot be reached), caused by the driver's own error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from gitsync.errors import StoreError

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
OPEN_FAILURE = "Cannot open the state store in"
FAILURE = "State store failure in"


class Executor(Protocol):
    """A connection inside a transaction (what ``Store._tx`` yields)."""

    def execute(self, statement: Any, params: Params = None) -> Any: ...


class Database(Protocol):
    def open(self) -> None:
        """Connect, and bring the schema to the newest revision."""

    def close(self) -> None: ...

    def transaction(self, durable: bool) -> AbstractContextManager[Executor]:
        """One write transaction, committed when the block ends without an error;
        ``durable`` fsyncs SQLite's log on commit."""

    def read(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        """One read in autocommit mode: it sees every write committed before it."""

    def write_alone(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        """One write statement as its own durable transaction (PostgreSQL: in autocommit
        mode, so no BEGIN and COMMIT round trips); its rows."""

    def table_batches(self, table: Any) -> Iterator[list[dict[str, Any]]]:
        """Every row of a table, in primary key order, in batches (copying a store)."""

    def sqlite_connection(self) -> Any:
        """The writer's raw sqlite3 connection (crash tests trace its statements)."""


class Rows:
    """The rows of one statement, as the driver's tuples (by position, no names: wrapping
    each row costs more than reading it): the part of SQLAlchemy's result the store uses."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[Any]:
        return self._rows

    def fetchall(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise StoreError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise StoreError(f"expected at most one row, got {len(self._rows)}")
        return self.scalar()

    def scalars(self) -> Rows:
        return Rows([row[0] for row in self._rows], self.rowcount)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _Names:
    """The store's statements by name: ``NAMES.add_tenant == "add_tenant"``."""

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return name


NAMES = _Names()


def first_line(exc: BaseException) -> str:
    """The first line of a driver error (SQLAlchemy's own wraps it as ``orig``)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
