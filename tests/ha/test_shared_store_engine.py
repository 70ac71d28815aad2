"""Engines in one process sharing one PostgreSQL database: the maintenance lease, the
prepared-package cache across engines, and a stale activation checked again (an engine
activates from what it last wrote, a guess the write verifies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.engine import Engine
from gitsync.errors import ActivationConflict
from tests.testing.configs import serve_yaml
from tests.testing.postgres import PostgresServer


@pytest.fixture
def trio(tmp_path: Path, postgres: PostgresServer) -> Iterator[list[Engine]]:
    url = postgres.create_database()
    engines = [Engine(tmp_path / f"e{i}", store=url).open() for i in range(3)]
    try:
        yield engines
    finally:
        for engine in engines:
            engine.close()


def test_session_expiry_runs_on_one_engine_at_a_time(trio: list[Engine]) -> None:
    ran = [engine.run_maintenance(f"holder-{i}", 30.0) for i, engine in enumerate(trio)]
    assert ran == [True, False, False]
    # The holder keeps it on its next pass; the others still wait.
    assert trio[0].run_maintenance("holder-0", 30.0) is True
    assert trio[2].run_maintenance("holder-2", 30.0) is False


def test_a_session_re_prepared_elsewhere_activates_its_new_content(trio: list[Engine]) -> None:
    first, second, _ = trio
    info = first.create_session_from_files("default", {"serve.yaml": serve_yaml(("a", "/a"))})
    first.prepare("default", info.session_id)  # cached in the first engine
    changed = serve_yaml(("a", "/a"), ("b", "/b"), price=3)
    second.put_content("default", info.session_id, "serve.yaml", changed)
    second.prepare("default", info.session_id)
    first.activate("default", info.session_id)
    names = [app.name for app in first.live().applications]
    assert names == ["a", "b"]


def test_an_activation_that_lost_the_race_is_a_conflict(trio: list[Engine]) -> None:
    first, second, _ = trio
    files = {"serve.yaml": serve_yaml(("a", "/a"))}
    base = first.deploy_files(files).generation
    left = first.create_session_from_files("default", files).session_id
    right = second.create_session_from_files("default", files).session_id
    first.prepare("default", left)
    second.prepare("default", right)
    assert second.activate("default", right).generation == right
    with pytest.raises(ActivationConflict, match=f"prepared when session {base} was active"):
        first.activate("default", left)


def test_a_session_created_here_and_prepared_elsewhere_activates_here(trio: list[Engine]) -> None:
    """This engine last saw the session NEW (and its unit as it activated it): the check
    refuses on that guess, so it checks again from the store, where it is prepared."""
    first, second, _ = trio
    first.deploy_files({"serve.yaml": serve_yaml(("a", "/a"))})
    files = {"serve.yaml": serve_yaml(("a", "/a"), ("b", "/b"))}
    info = first.create_session_from_files("default", files)
    second.prepare("default", info.session_id)
    assert first.activate("default", info.session_id).generation == info.session_id
    assert [app.name for app in second.live().applications] == ["a", "b"]


def test_a_unit_deleted_elsewhere_is_activated_as_stored(trio: list[Engine]) -> None:
    """This engine last saw the unit active at its own generation; another engine deleted
    it since: the write finds no active session to move, and the activation is checked
    again against the deleted unit (nothing active: it goes ahead)."""
    first, second, third = trio
    first.deploy_files({"serve.yaml": serve_yaml(("a", "/a"))})
    files = {"serve.yaml": serve_yaml(("b", "/b"))}
    waiting = first.create_session_from_files("default", files).session_id
    first.prepare("default", waiting)
    second.delete_application("default", "default")
    assert first.activate("default", waiting).generation == waiting
    assert [app.name for app in third.live().applications] == ["b"]
    history = third.history("default", "default")
    assert [entry.generation for entry in history][:1] == [waiting]


def test_a_deploy_spread_over_engines_activates_from_its_own_prepare(
    trio: list[Engine],
) -> None:
    """Each engine's prepare reads the unit's active session, and its activation starts
    from that: deploys taking turns on the engines (as behind a load balancer) write as
    often as deploys on one engine, with no wasted attempt (the state version counts
    every write)."""

    def writes_per_deploy(order: list[Engine]) -> list[int]:
        counts = []
        for step, engine in enumerate(order):
            before = engine._store.version()
            files = {"serve.yaml": serve_yaml(("a", "/a"), price=step + 2)}
            result = engine.deploy_files(files)
            counts.append(engine._store.version() - before)
            assert trio[(step + 1) % 3].live().generation == result.generation
        return counts

    alone = writes_per_deploy([trio[0]] * 4)
    spread = writes_per_deploy(trio + trio[:1])
    assert len(set(alone)) == 1
    assert spread == alone


def test_a_tenant_made_again_elsewhere_is_activated_as_stored(trio: list[Engine]) -> None:
    """Session ids start again in a tenant made again: this engine's guess of session 2
    (its own, prepared before the tenant was deleted elsewhere) is not the stored one,
    so the activation is checked against the stored session 2 and activates its content."""
    first, second, _ = trio
    first.create_tenant("t")
    mine = first.create_session_from_files("t", {"serve.yaml": serve_yaml(("a", "/a"))})
    first.prepare("t", mine.session_id)
    second.delete_tenant("t")
    second.create_tenant("t")
    theirs = second.create_session_from_files("t", {"serve.yaml": serve_yaml(("b", "/b"))})
    second.prepare("t", theirs.session_id)
    assert theirs.session_id == mine.session_id
    first.activate("t", mine.session_id)
    assert [app.name for app in second.live("t").applications] == ["b"]
