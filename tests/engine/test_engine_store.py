"""The runtime interface as the engine drives it, and the store's errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from gitsync.engine import AppId, AppLive, DeployedApp, Engine, NoneRuntime
from gitsync.errors import NotFound, StoreError
from tests.testing.clock import ManualClock


def test_a_database_that_is_not_sqlite_is_a_store_error(tmp_path: Path) -> None:
    state = tmp_path / "s"
    state.mkdir()
    (state / "engine.sqlite3").write_bytes(b"not a database, " * 512)
    for _ in range(2):  # the lock is released: the second open is not LockHeld
        with pytest.raises(StoreError) as caught:
            Engine(state).open()
        assert caught.value.message.startswith(f"Cannot open the state store in '{state}': ")
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_state_directory_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    state = tmp_path / "file" / "state"
    with pytest.raises(StoreError) as caught:
        Engine(state).open()
    assert caught.value.message.startswith(f"Cannot open the state store in '{state}': ")
    assert isinstance(caught.value.__cause__, OSError)


def test_unknown_tenant_is_404_everywhere(engine: Engine) -> None:
    message = "^Tenant 'ghost' was not found.$"
    with pytest.raises(NotFound, match=message):
        engine.create_session_from_files("ghost", {"a.yaml": b""})
    with pytest.raises(NotFound, match=message):
        engine.list_applications("ghost")
    with pytest.raises(NotFound, match=message):
        engine.activate("ghost", 2)


class RecordingRuntime(NoneRuntime):
    """The none runtime, remembering what it was asked to apply."""

    name = "recording"

    def __init__(self) -> None:
        self.applied: list[tuple[AppId, list[str] | None]] = []

    def apply(self, app: AppId, config: Mapping[str, Any] | None) -> None:
        names = None if config is None else [a["name"] for a in config["applications"]]
        self.applied.append((app, names))

    def live(self, app: AppId, deployed: Sequence[DeployedApp]) -> list[AppLive]:
        return super().live(app, deployed)


def test_the_runtime_sees_each_activation_and_delete(
    tmp_path: Path, config_of: Callable[..., bytes]
) -> None:
    runtime = RecordingRuntime()
    with Engine(tmp_path / "s", runtime=runtime) as engine:
        engine.deploy_files({"serve.yaml": config_of(("a", "/a"))})
        result = engine.deploy_files({"serve.yaml": config_of(("a", "/a"), ("b", "/b"))})
        engine.activate("default", result.generation)  # no-op: not applied again
        engine.delete_application("default", "default")
        assert engine.live().runtime == "recording"
    unit = AppId("default")
    assert runtime.applied == [(unit, ["a"]), (unit, ["a", "b"]), (unit, None)]


def test_an_activation_whose_active_session_moved_writes_nothing(engine: Engine) -> None:
    """The store checks, in the activation's own transaction, that the unit's active
    session is still the one the engine checked against (another engine on the same
    database may have activated since)."""
    from gitsync.engine.activation import build_activation
    from gitsync.engine.store import StaleActivation

    app = AppId("default", "default", "default")
    files = {"serve.yaml": b"applications:\n  - name: a\n    import_path: m:app\n"}
    active = engine.deploy_files(files).generation
    more = {"serve.yaml": files["serve.yaml"] + b"  - name: b\n    import_path: m:app\n"}
    more["serve.yaml"] += b"    route_prefix: /b\n"
    waiting = engine.create_session_from_files("default", more).session_id
    engine.prepare("default", waiting)
    store, ctx = engine._store, engine._ctx
    info = ctx.session("default", waiting)
    prepared = ctx.prepared_package("default", waiting)
    for stale in (None, active + 100):
        with pytest.raises(StaleActivation) as refused:
            store.activate(build_activation(info, stale, 1.0, prepared, "deploy", None, None))
        # Still so after the engine's last attempt: a 409, as a lost race is.
        assert (refused.value.http_status, refused.value.error_code) == (409, "ACTIVATION_CONFLICT")
        # Nothing at all was written: not the session, the Serve applications or history.
        assert store.active_session_id(app) == active
        assert ctx.session("default", waiting).status.value == "PREPARED"
        assert ctx.session("default", active).status.value == "ACTIVE"
        assert [deployed.name for deployed in store.deployed_apps(app)] == ["a"]
        assert [entry.generation for entry in store.history(app)] == [active]
        assert store.history_file_data(app, waiting) == {}
    assert engine.activate("default", waiting).generation == waiting
    assert store.active_session_id(app) == waiting
    assert [deployed.name for deployed in store.deployed_apps(app)] == ["a", "b"]


def test_an_activation_of_a_session_changed_since_it_was_read_writes_nothing(
    engine: Engine,
) -> None:
    """Another engine may re-prepare a session between this engine's check and its
    write: the write checks the session's ``changed`` stamp, so the package recorded
    with the activation is the one that was checked."""

    from gitsync.engine.activation import build_activation
    from gitsync.engine.store import StaleActivation

    app = AppId("default", "default", "default")
    files = {"serve.yaml": b"applications:\n  - name: a\n    import_path: m:app\n"}
    active = engine.deploy_files(files).generation
    waiting = engine.create_session_from_files("default", files).session_id
    engine.prepare("default", waiting)
    store, ctx = engine._store, engine._ctx
    info = ctx.session("default", waiting)
    prepared = ctx.prepared_package("default", waiting)
    read_before = info._replace(changed=info.changed - 1.0)
    with pytest.raises(StaleActivation):
        store.activate(build_activation(read_before, active, 1.0, prepared, "deploy", None, None))
    assert store.active_session_id(app) == active
    assert ctx.session("default", waiting).status.value == "PREPARED"
    assert [entry.generation for entry in store.history(app)] == [active]
    store.activate(build_activation(info, active, 2.0, prepared, "deploy", None, None))
    assert store.active_session_id(app) == waiting
    assert [entry.generation for entry in store.history(app)] == [waiting, active]


def test_activation_keeps_the_prepared_package_cached(engine: Engine, clock: ManualClock) -> None:
    """The package a session was prepared with stays cached across its activation (the
    activation moves the session's ``changed`` stamp, which a shared store's cache
    checks): the next prepare diffs against it without decoding it again."""
    files = {"serve.yaml": b"applications:\n  - name: a\n    import_path: m:app\n"}
    session_id = engine.create_session_from_files("default", files).session_id
    engine.prepare("default", session_id)
    ctx = engine._ctx
    prepared = ctx.prepared_package("default", session_id)
    clock.advance(1.0)  # the activation's stamp is another than the prepare's
    engine.activate("default", session_id)
    assert ctx.prepared_package("default", session_id) is prepared
