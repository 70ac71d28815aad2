"""The store's statements compiled for SQLite, kept on disk like ``.pyc`` files.

A short-lived process (a push hook) opening the embedded store would spend most of its
start-up loading SQLAlchemy only to turn the same statements into the same SQL text as
the last process did. SQLAlchemy stays the only source of the SQL: ``plan_compiler.py``
compiles a statement, and the result (the SQL text, and where each parameter's value
comes from and how it is converted) is a plan, saved here in the state directory. A process
finding every plan it needs runs them on ``sqlite3`` and never loads SQLAlchemy.

The file is keyed by a digest of what makes the SQL (the store's statement, schema,
runner and migration sources, SQLAlchemy's and SQLite's versions): a file with another
key, or one that does not parse, is ignored and rewritten. Writes go to a temporary
file renamed over the old one, so readers see a whole file, old or new, and two
processes saving at once both leave a valid one.

The file is read as untrusted input: only a regular file of at most ``MAX_BYTES`` is
read, never through a symbolic link (opening a FIFO or a terminal would wait for a
writer, a device may never end). It carries a digest of its plans, so a file damaged
inside a well-formed plan (a character of its SQL, two of its values swapped) is
ignored too, rather than failing every process or binding values to the wrong columns;
and entries that are not plans are dropped at the next save instead of carried on.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import operator
import sqlite3
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gitsync.localfile import read_regular, write_replacing

CACHE_NAME = "engine.sql-plans.json"
_FORMAT = 2  # 2: with the plans' digest
MAX_BYTES = 4 << 20  # a few hundred plans take ~100 kB: anything far bigger is not ours
# The sources whose change may change a compiled statement (beside this module).
_SOURCES = (
    "statements.py",
    "schema.py",
    "runner.py",
    "migrate.py",
    "plan_compiler.py",
    "plan_cache.py",
)
# The conversions a saved plan may name (SQLAlchemy's own for these types on SQLite).
CONVERSIONS: dict[str, Callable[[Any], Any]] = {"float": float, "binary": sqlite3.Binary}
CONSTANTS = (str, int, float, type(None))  # what a saved plan may carry as a value

Source = tuple[
    str | None, Any, str | None
]  # caller's key (None: the constant), constant, conversion


class Plan:
    """One statement compiled for SQLite and one set of parameter keys: run as
    ``cursor.execute(plan.sql, plan.arguments(params))``."""

    __slots__ = ("sql", "sources", "saved", "_convert", "_pick", "_fix", "construct", "results")

    def __init__(
        self,
        sql: str,
        sources: list[Source],
        *,
        converters: Mapping[str, Callable[[Any], Any]] = CONVERSIONS,
        construct: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None,
        results: list[Callable[[Any], Any] | None] | None = None,
        saved: bool = True,
    ) -> None:
        self.sql = sql
        self.sources = sources
        self._convert = [(key, value, converters[c] if c else None) for key, value, c in sources]
        # The common case, every value the caller's own: one C call picks them (an
        # executemany of a thousand rows binds each row here), then the few conversions.
        keys = [key for key, _value, _conversion in sources if key is not None]
        plain = construct is None and len(keys) == len(sources) > 1
        self._pick = operator.itemgetter(*keys) if plain else None
        self._fix = [(i, convert) for i, (_k, _v, convert) in enumerate(self._convert) if convert]
        # Plans using SQLAlchemy's own callables live in memory only (``saved`` False):
        # values built at execution, conversions other than the plain ones above, the
        # result processing of types SQLite does not return as they are.
        self.construct = construct
        self.results = results
        self.saved = saved and construct is None and results is None

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        if self._pick is not None:
            picked: tuple[Any, ...] = self._pick(params)
            if not self._fix:
                return picked
            values = list(picked)
            for index, fix in self._fix:
                if values[index] is not None:
                    values[index] = fix(values[index])
            return tuple(values)
        if self.construct is not None:
            return self.construct(params)
        values = []  # some are the statement's own constants
        for key, value, convert in self._convert:
            if key is not None:
                value = params[key]
            if convert is not None and value is not None:
                value = convert(value)
            values.append(value)
        return tuple(values)

    def rows(self, raw: list[Any]) -> list[Any]:
        """The driver's rows as the store takes them: its tuples, by position."""
        if self.results is None:
            return raw
        return [
            tuple(p(v) if p is not None else v for p, v in zip(self.results, row, strict=True))
            for row in raw
        ]

    def to_json(self) -> dict[str, Any]:
        return {"sql": self.sql, "sources": self.sources}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        sources = [(key, value, conversion) for key, value, conversion in data["sources"]]
        for key, value, conversion in sources:
            if (
                not (key is None or isinstance(key, str))
                or not isinstance(value, CONSTANTS)
                or (conversion is not None and conversion not in CONVERSIONS)
            ):
                raise ValueError("not a plan")
        if not isinstance(data["sql"], str):
            raise ValueError("not a plan")
        return cls(data["sql"], sources)


def plan_key(name: str, keys: frozenset[str], many: bool) -> str:
    return f"{name}|{','.join(sorted(keys))}|{'many' if many else 'one'}"


def cache_key() -> str:
    """What the compiled SQL depends on: these sources, SQLAlchemy's (its ``__init__``
    carries its version), SQLite's version and Python's (the driver)."""
    digest = hashlib.sha256(f"{_FORMAT} {sqlite3.sqlite_version} {sys.version}".encode())
    here = Path(__file__).parent
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    spec = importlib.util.find_spec("sqlalchemy")  # its location only: nothing is imported
    if spec is None or spec.origin is None:
        return ""  # no SQLAlchemy: no plan can be made, none is trusted
    digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


class PlanCache:
    """The plans of one state directory: loaded at open, saved when some were added."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / CACHE_NAME
        self.key = cache_key()
        self.head: str | None = None  # the schema revision the plans were made for
        self._plans: dict[str, Plan] = {}
        self._added: dict[str, dict[str, Any]] = {}  # plans to save
        self._dirty = False

    def load(self) -> None:
        """The saved plans, if the file is whole and made for this key; else none."""
        data = _read(self.path, self.key)
        if data is None:
            return
        plans = {}
        try:
            for key, entry in data["plans"].items():
                plans[str(key)] = Plan.from_json(entry)
            head = data["head"]
        except (KeyError, TypeError, ValueError, AttributeError):
            return  # damaged: start afresh (and rewrite it at the next save)
        self._plans, self.head = plans, str(head) if head is not None else None

    def get(self, name: str, keys: frozenset[str], many: bool) -> Plan | None:
        return self._plans.get(plan_key(name, keys, many))

    def add(self, name: str, keys: frozenset[str], many: bool, plan: Plan) -> None:
        key = plan_key(name, keys, many)
        self._plans[key] = plan
        if plan.saved:
            self._added[key] = plan.to_json()
            self._dirty = True

    def set_head(self, head: str) -> None:
        """The schema revision the database has now (read once it is upgraded)."""
        if head != self.head:
            self.head = head
            self._dirty = True

    def save(self) -> None:
        """Write the plans added since the load, with those another process saved
        meanwhile; a failure to write only means compiling again next time."""
        if not self._dirty or not self.key or self.head is None:
            return
        current = _read(self.path, self.key)
        plans = _plans_only(current["plans"]) if current is not None else {}
        plans.update(self._added)
        data = {
            "format": _FORMAT,
            "key": self.key,
            "head": self.head,
            "digest": plans_digest(plans),
            "plans": plans,
        }
        with contextlib.suppress(OSError):
            write_replacing(self.path, json.dumps(data, sort_keys=True).encode())
            self._added, self._dirty = {}, False


def _plans_only(entries: Mapping[str, Any]) -> dict[str, Any]:
    """The saved entries that load as plans: one that does not would make every later
    load fail, and the cache never serve again."""
    plans = {}
    for key, entry in entries.items():
        try:
            Plan.from_json(entry)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        plans[key] = entry
    return plans


def _read(path: Path, key: str) -> dict[str, Any] | None:
    """The file's data if it is whole, made for ``key``, and its plans are the ones it
    was written with; else None."""
    try:
        data = json.loads(read_regular(path, MAX_BYTES))
        if not isinstance(data, dict) or data.get("key") != key or data.get("format") != _FORMAT:
            return None
        plans = data.get("plans")
        if not isinstance(plans, dict) or data.get("digest") != plans_digest(plans):
            return None
    except (OSError, ValueError, RecursionError):
        return None
    return data


def plans_digest(plans: Mapping[str, Any]) -> str:
    """What the plans say, in one canonical form: a file whose plans changed after it
    was written (by damage or by hand) has another digest than the one it carries."""
    return hashlib.sha256(json.dumps(plans, sort_keys=True).encode()).hexdigest()
