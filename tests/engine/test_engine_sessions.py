"""Session lifecycle with Vespa semantics: vespa-deploy-api.md §4.2-4.5."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitsync.config import package
from gitsync.engine import Engine, FileContent, SessionStatus
from gitsync.errors import (
    ActivationConflict,
    BadRequest,
    InvalidConfig,
    InvalidName,
    LockHeld,
    NotFound,
)
from tests.testing.clock import ManualClock

ConfigOf = Callable[..., bytes]
ZipOf = Callable[[bytes], bytes]

T = "default"


def new_session(engine: Engine, config: bytes, tenant: str = T) -> int:
    return engine.create_session(
        tenant, package.build_zip({"serve.yaml": config}), "application/zip"
    ).session_id


def in_state(engine: Engine, config_of: ConfigOf, state: SessionStatus) -> int:
    """A session in ``state``: DEACTIVATED ones are made by activating a newer one."""
    sid = new_session(engine, config_of(("a", "/a")))
    if state is SessionStatus.NEW:
        return sid
    engine.prepare(T, sid)
    if state is SessionStatus.PREPARED:
        return sid
    engine.activate(T, sid)
    if state is SessionStatus.ACTIVE:
        return sid
    newer = new_session(engine, config_of(("a", "/a"), price=2))
    engine.prepare(T, newer)
    engine.activate(T, newer)
    assert engine.get_session(T, sid).status is SessionStatus.DEACTIVATED
    return sid


def status(engine: Engine, sid: int) -> SessionStatus:
    return engine.get_session(T, sid).status


# -- ids ---------------------------------------------------------------------------------------


def test_session_ids_start_at_2_per_tenant(engine: Engine, config_of: ConfigOf) -> None:
    assert new_session(engine, config_of(("a", "/a"))) == 2
    assert new_session(engine, config_of(("a", "/a"))) == 3
    assert engine.create_tenant("other") is True
    assert new_session(engine, config_of(("a", "/a")), tenant="other") == 2


def test_ids_are_never_reused_after_a_failed_prepare(engine: Engine, config_of: ConfigOf) -> None:
    bad = new_session(engine, b"applications: [{name: x}]\n")
    with pytest.raises(InvalidConfig):
        engine.prepare(T, bad)
    assert new_session(engine, config_of(("a", "/a"))) == bad + 1


# -- the §4.2 table: content writes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "after"),
    [
        (SessionStatus.NEW, SessionStatus.NEW),
        (SessionStatus.PREPARED, SessionStatus.NEW),
        (SessionStatus.DEACTIVATED, SessionStatus.NEW),
    ],
)
def test_content_write_resets_to_new(
    engine: Engine, config_of: ConfigOf, state: SessionStatus, after: SessionStatus
) -> None:
    sid = in_state(engine, config_of, state)
    engine.put_content(T, sid, "extra.txt", b"x")
    assert status(engine, sid) is after
    engine.prepare(T, sid)
    engine.delete_content(T, sid, "extra.txt")
    assert status(engine, sid) is after


def test_content_write_on_active_session_is_refused(engine: Engine, config_of: ConfigOf) -> None:
    sid = in_state(engine, config_of, SessionStatus.ACTIVE)
    with pytest.raises(BadRequest, match=f"^Session {sid} is active$"):
        engine.put_content(T, sid, "extra.txt", b"x")
    with pytest.raises(BadRequest, match=f"^Session {sid} is active$"):
        engine.delete_content(T, sid, "serve.yaml")
    assert status(engine, sid) is SessionStatus.ACTIVE


@pytest.mark.parametrize("state", list(SessionStatus)[:4])
def test_content_read_is_legal_in_every_state(
    engine: Engine, config_of: ConfigOf, state: SessionStatus
) -> None:
    sid = in_state(engine, config_of, state)
    content = engine.get_content(T, sid, "serve.yaml")
    assert isinstance(content, FileContent) and content.data == config_of(("a", "/a"))


# -- prepare -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", [SessionStatus.NEW, SessionStatus.PREPARED, SessionStatus.DEACTIVATED]
)
def test_prepare_is_legal(engine: Engine, config_of: ConfigOf, state: SessionStatus) -> None:
    sid = in_state(engine, config_of, state)
    result = engine.prepare(T, sid)
    assert result.session.status is SessionStatus.PREPARED


def test_prepare_of_active_session_is_400(engine: Engine, config_of: ConfigOf) -> None:
    sid = in_state(engine, config_of, SessionStatus.ACTIVE)
    with pytest.raises(BadRequest, match=f"^Session {sid} for 'default' is active$"):
        engine.prepare(T, sid)


def test_failed_prepare_deletes_the_session(engine: Engine) -> None:
    sid = new_session(engine, b"applications:\n  - name: x\n")
    with pytest.raises(InvalidConfig) as caught:
        engine.prepare(T, sid)
    assert caught.value.error_code == "INVALID_APPLICATION_PACKAGE"
    with pytest.raises(NotFound, match=f"^Local session {sid} for 'default' was not found$"):
        engine.get_content(T, sid, "serve.yaml")


# -- GET prepared --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (SessionStatus.NEW, "Session not prepared: {sid}"),
        (SessionStatus.ACTIVE, "Session is active: {sid}"),
        (SessionStatus.DEACTIVATED, "Session not prepared: {sid}"),
    ],
)
def test_get_prepared_errors(
    engine: Engine, config_of: ConfigOf, state: SessionStatus, message: str
) -> None:
    sid = in_state(engine, config_of, state)
    with pytest.raises(BadRequest, match=f"^{message.format(sid=sid)}$"):
        engine.get_prepared(T, sid)


def test_get_prepared_ok_and_unknown(engine: Engine, config_of: ConfigOf) -> None:
    sid = in_state(engine, config_of, SessionStatus.PREPARED)
    assert engine.get_prepared(T, sid).status is SessionStatus.PREPARED
    with pytest.raises(NotFound, match="^Remote session 99 for 'default' was not found$"):
        engine.get_prepared(T, 99)


# -- activate ------------------------------------------------------------------------------------


def test_activate_new_session_is_400(engine: Engine, config_of: ConfigOf) -> None:
    sid = in_state(engine, config_of, SessionStatus.NEW)
    with pytest.raises(BadRequest, match=f"^Session {sid} is not prepared$"):
        engine.activate(T, sid)


def test_activate_new_session_in_other_tenant_is_prefixed(
    engine: Engine, config_of: ConfigOf
) -> None:
    engine.create_tenant("t1")
    sid = new_session(engine, config_of(("a", "/a")), tenant="t1")
    with pytest.raises(
        BadRequest, match=rf"^app:t1\.default\.default Session {sid} is not prepared$"
    ):
        engine.activate("t1", sid)


def test_activate_prepared_deactivates_previous(engine: Engine, config_of: ConfigOf) -> None:
    first = in_state(engine, config_of, SessionStatus.ACTIVE)
    second = new_session(engine, config_of(("a", "/a"), price=5))
    engine.prepare(T, second)
    result = engine.activate(T, second)
    assert (result.generation, result.previous_active_generation) == (second, first)
    assert status(engine, first) is SessionStatus.DEACTIVATED
    assert status(engine, second) is SessionStatus.ACTIVE
    assert engine.get_application(T, "default").generation == second


def test_reactivating_the_active_session_is_a_no_op(engine: Engine, config_of: ConfigOf) -> None:
    sid = in_state(engine, config_of, SessionStatus.ACTIVE)
    before = engine.history(T)
    result = engine.activate(T, sid)
    assert result.generation == sid
    assert engine.history(T) == before


def test_activating_a_deactivated_session_is_409(engine: Engine, config_of: ConfigOf) -> None:
    sid = in_state(engine, config_of, SessionStatus.DEACTIVATED)
    active = engine.get_application(T, "default").generation
    with pytest.raises(ActivationConflict) as caught:
        engine.activate(T, sid, force=True)
    assert caught.value.message == (
        f"Cannot activate session {sid}, because it is older than current active session "
        f"({active}), please try deploying again from start"
    )


def test_unknown_session_is_404(engine: Engine) -> None:
    with pytest.raises(NotFound, match="^Local session 42 for 'default' was not found$"):
        engine.activate(T, 42)


# -- §4.4: the activation-conflict sequence ------------------------------------------------------


def test_activation_conflict_sequence(engine: Engine, config_of: ConfigOf) -> None:
    """ApplicationApiHandlerTest.testActivationFailuresAndRetries, minus the transient faults."""
    two = new_session(engine, config_of(("a", "/a")))
    engine.prepare(T, two)
    engine.activate(T, two)
    three = new_session(engine, config_of(("a", "/a"), price=3))
    engine.prepare(T, three)
    four = new_session(engine, config_of(("a", "/a"), price=4))
    engine.prepare(T, four)
    assert engine.activate(T, three).generation == 3
    with pytest.raises(ActivationConflict) as caught:
        engine.activate(T, four)
    assert caught.value.error_code == "ACTIVATION_CONFLICT"
    assert caught.value.http_status == 409
    assert caught.value.message == (
        "This session 4 was prepared when session 2 was active, but session 3 has since "
        "become active: refusing to activate this session, please redeploy"
    )
    assert engine.activate(T, three).generation == 3  # no-op
    forced = engine.activate(T, four, force=True)
    assert forced.generation == 4
    assert forced.log[0].level == "WARNING"
    assert forced.log[0].message.endswith("(continuing because of force)")


def test_after_application_delete_an_old_session_can_be_activated(
    engine: Engine, config_of: ConfigOf
) -> None:
    old = in_state(engine, config_of, SessionStatus.PREPARED)
    newer = new_session(engine, config_of(("a", "/a"), price=9))
    engine.prepare(T, newer)
    engine.activate(T, newer)
    engine.delete_application(T, "default")
    with pytest.raises(NotFound, match=f"^Local session {newer} for 'default' was not found$"):
        engine.get_session(T, newer)
    assert engine.activate(T, old).generation == old


# -- create from active ---------------------------------------------------------------------------


def test_create_from_active_copies_the_package(engine: Engine, config_of: ConfigOf) -> None:
    active = in_state(engine, config_of, SessionStatus.ACTIVE)
    copy = engine.create_session_from_application(T, "default")
    assert copy.session_id == active + 1
    assert copy.previous_active_generation == active
    assert copy.status is SessionStatus.NEW
    assert engine.get_content(T, copy.session_id, "serve.yaml") == engine.get_content(
        T, active, "serve.yaml"
    )


def test_create_from_application_without_active_session(engine: Engine) -> None:
    with pytest.raises(
        BadRequest, match="^Application 'default.foo.default' has no active session.$"
    ):
        engine.create_session_from_application(T, "foo")


# -- expiry ----------------------------------------------------------------------------------------


def test_sessions_expire_after_their_lifetime_except_the_active_one(
    engine: Engine, config_of: ConfigOf, clock: ManualClock
) -> None:
    deactivated = in_state(engine, config_of, SessionStatus.DEACTIVATED)
    active = engine.get_application(T, "default").generation
    clock.advance(1000)
    fresh = new_session(engine, config_of(("a", "/a")))
    clock.advance(2599)
    assert engine.expire_sessions() == []
    clock.advance(2)
    assert engine.expire_sessions() == [(T, deactivated)]
    clock.advance(1000)
    assert engine.expire_sessions() == [(T, fresh)]
    assert engine.get_session(T, active).status is SessionStatus.ACTIVE
    with pytest.raises(NotFound):
        engine.get_session(T, fresh)


# -- tenants and names ------------------------------------------------------------------------------


def test_tenant_rules(engine: Engine, config_of: ConfigOf) -> None:
    assert engine.list_tenants() == ["default"]
    assert engine.create_tenant("t1") is True
    assert engine.create_tenant("t1") is False
    engine.get_tenant("t1")
    with pytest.raises(NotFound, match="^Tenant 'nope' was not found.$"):
        engine.get_tenant("nope")
    with pytest.raises(BadRequest, match="^Deleting 'default' tenant is not allowed$"):
        engine.delete_tenant("default")
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"))}, tenant="t1", application="app")
    with pytest.raises(
        BadRequest,
        match=r"^Cannot delete tenant 't1', it has active applications: \[t1.app.default\]$",
    ):
        engine.delete_tenant("t1")
    engine.delete_application("t1", "app")
    engine.delete_tenant("t1")
    assert engine.list_tenants() == ["default"]
    with pytest.raises(NotFound, match="^Tenant 't1' was not found.$"):
        engine.delete_tenant("t1")
    # A tenant made again starts from scratch: ids from 2, nothing of the old one.
    engine.create_tenant("t1")
    result = engine.deploy_files({"serve.yaml": config_of(("b", "/b"))}, tenant="t1")
    assert result.generation == 2
    assert result.actions.create == ["b"]
    assert engine.history("t1") == engine.history("t1")[:1]


@pytest.mark.parametrize("name", ["", "a b", "a.b", "x" * 257, "é"])
def test_bad_names_are_400(engine: Engine, name: str) -> None:
    with pytest.raises(InvalidName) as caught:
        engine.create_tenant(name)
    assert caught.value.http_status == 400
    assert caught.value.message == (
        f"tenant name must match '[a-zA-Z0-9_-]{{1,256}}', but got: '{name}'"
    )
    with pytest.raises(InvalidName, match="^application name must match"):
        engine.get_application("default", name)


# -- the state directory --------------------------------------------------------------------------


def test_second_writer_gets_lock_held(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Engine(state), pytest.raises(LockHeld) as caught:
        Engine(state).open()
    assert caught.value.message == (
        f"State directory '{state}' is in use by another gitsync engine "
        f"(lock file '{state / 'engine.lock'}' is held)"
    )


def test_state_survives_reopen(tmp_path: Path, config_of: ConfigOf, store_url: str | None) -> None:
    with Engine(tmp_path / "s", store=store_url) as first:
        first.deploy_files({"serve.yaml": config_of(("a", "/a"))})
    with Engine(tmp_path / "s", store=store_url) as second:
        assert second.get_application(T, "default").generation == 2
        assert new_session(second, config_of(("a", "/a"))) == 3


def test_engine_state_machine(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "s")
    with pytest.raises(RuntimeError, match="call open"):
        engine.list_tenants()
    engine.open()
    engine.close()
    with pytest.raises(RuntimeError, match="Cannot reopen"):
        engine.open()
