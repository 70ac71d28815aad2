"""The embedded store's compiled plans: saved in the state directory at close, used by
the next process; a cache made for an older schema upgrades first; two processes saving
at once leave a whole file; sqlite3's errors on that path are the StoreErrors
SQLAlchemy's path raises. Hostile cache files (stale, damaged, cut short, oversized,
links, FIFOs...) are the reliability suite's: ``tests/reliability/test_plan_cache_file.py``."""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gitsync.engine import Engine
from gitsync.engine.store import plan_cache, store
from gitsync.engine.store.plan_cache import CACHE_NAME, Plan, PlanCache
from gitsync.engine.store.statements import statements
from gitsync.errors import StoreError
from tests.testing.configs import serve_yaml


def deploy(state: Path, price: int) -> int:
    """One deploy and activation in a fresh engine (a process's worth of statements)."""
    with Engine(state) as engine:
        files = {"serve.yaml": serve_yaml(("app1", "/a"), price=price)}
        return engine.deploy_files(files, tenant="default", application="default").generation


def saved(state: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((state / CACHE_NAME).read_text())
    return data


def test_the_plans_an_engine_ran_are_saved_for_the_next(tmp_path: Path) -> None:
    state = tmp_path / "state"
    deploy(state, 1)
    data = saved(state)
    assert data["key"] == plan_cache.cache_key() and data["head"]
    plans = data["plans"]
    assert isinstance(plans, dict)
    assert {key.split("|")[0] for key in plans} >= {"schema_revision", "add_tenant", "put_history"}
    cache = PlanCache(state)
    cache.load()
    assert cache.get("bump", frozenset(), False) is not None
    assert deploy(state, 2) > 0  # runs from them


def test_a_cache_made_for_an_older_schema_upgrades_first(tmp_path: Path) -> None:
    state = tmp_path / "state"
    deploy(state, 1)
    data = saved(state)
    (state / CACHE_NAME).write_text(json.dumps(dict(data, head="0001")))
    assert deploy(state, 2) > 0  # the revision differs: the SQLAlchemy path checks it
    assert saved(state)["head"] == data["head"]


SAVER = """
import sys
from pathlib import Path
from gitsync.engine.store.plan_cache import Plan, PlanCache
state, who = Path(sys.argv[1]), sys.argv[2]
for round in range(40):
    cache = PlanCache(state)
    cache.load()
    cache.set_head("0004")
    cache.add(f"{who}-{round}", frozenset({"p_a"}), False, Plan("SELECT ?", [("p_a", None, None)]))
    cache.save()
"""


def test_two_processes_saving_at_once_leave_a_whole_file(tmp_path: Path) -> None:
    savers = [
        subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path), who]) for who in ("a", "b")
    ]
    assert [saver.wait(timeout=120) for saver in savers] == [0, 0]
    cache = PlanCache(tmp_path)
    cache.load()
    assert cache.head == "0004"
    assert cache.get("a-39", frozenset({"p_a"}), False) or cache.get(
        "b-39", frozenset({"p_a"}), False
    )
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_NAME]  # no temporary file left


def test_a_plan_runs_as_sqlalchemy_would_bind_it() -> None:
    plan = Plan("?", [("p_size", None, "float"), (None, "$.x", None), ("data", None, "binary")])
    size, path, data = plan.arguments({"p_size": 3, "data": b"\x00"})
    assert (size, type(size), path) == (3.0, float, "$.x")
    assert bytes(data) == b"\x00"
    assert plan.arguments({"p_size": None, "data": None}) == (None, "$.x", None)


def test_every_statement_the_store_names_exists() -> None:
    """The store names its statements (``sql.add_tenant``); each is one ``Statements``
    builds (for one dialect or both), so the compiled path and SQLAlchemy's run the same
    ones."""
    tree = ast.parse(Path(store.__file__).read_text())
    named = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "sql")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "_sql")
        )
    }
    assert len(named) > 40
    assert named <= set(vars(statements(False))) | set(vars(statements(True)))


def test_a_locked_database_is_the_same_store_error_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = []
    for compiled in (True, False):
        monkeypatch.setattr(store, "COMPILED_SQLITE", compiled)
        state = tmp_path / f"state-{compiled}"
        with Engine(state) as engine:
            holder = sqlite3.connect(state / "engine.sqlite3", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
            try:
                with pytest.raises(StoreError) as caught:
                    engine.create_session_from_files("default", {"serve.yaml": b"{}"})
            finally:
                holder.close()
            assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
            messages.append(caught.value.message)
            assert engine.create_session_from_files("default", {"a.yaml": b""}).session_id
    assert messages[0].replace("True", "False") == messages[1]
    assert messages[1] == f"State store failure in '{tmp_path / 'state-False'}': database is locked"


def test_statements_sqlalchemy_must_process_give_the_same_on_both_paths(tmp_path: Path) -> None:
    """A statement whose values or results need SQLAlchemy's processing (JSON here) runs
    on the compiled path with SQLAlchemy's own callables, kept in memory, never saved."""
    import sqlalchemy as sa

    from gitsync.engine.store import locate
    from gitsync.engine.store.plan_compiler import PlanCompiler
    from gitsync.engine.store.schema import tenants
    from gitsync.engine.store.sqlalchemy_db import SqlAlchemyDatabase
    from gitsync.engine.store.sqlite_db import SqliteDatabase

    as_json = sa.type_coerce(sa.bindparam("p_doc", type_=sa.JSON), sa.JSON)
    statement = sa.select(as_json, sa.type_coerce(tenants.c.name, sa.JSON)).select_from(tenants)
    answers = []
    for database in (SqliteDatabase, SqlAlchemyDatabase):
        location = locate(tmp_path / database.__name__)
        location.sqlite_path.parent.mkdir()
        db = database(location)
        db.open()
        try:
            with db.transaction(durable=False) as conn:
                conn.execute("add_tenant", {"p_name": '"t"', "p_created": 1.0})
            answers.append(db.read(statement, {"p_doc": {"a": [1, 2]}}))
        finally:
            db.close()
    assert answers[0] == answers[1] == [({"a": [1, 2]}, "t")]
    plan = PlanCompiler(locate(tmp_path)).compile(statement, frozenset({"p_doc"}), False)
    assert not plan.saved and plan.results is not None
    assert plan.arguments({"p_doc": {"a": 1}}) == ('{"a": 1}',)
