"""What an engine on a shared store remembers of its own writes (known.py): bounded,
forgotten per tenant, and a prepare known only for a session whose creation was."""

from __future__ import annotations

from gitsync.engine.records import AppId, SessionInfo, SessionStatus
from gitsync.engine.store import known
from gitsync.engine.store.known import Known


def created(tenant: str, session_id: int) -> SessionInfo:
    app = AppId(tenant)
    return SessionInfo(tenant, session_id, SessionStatus.NEW, app, 1.0, 1.0, 0)


def test_a_prepare_is_known_only_for_a_session_created_here() -> None:
    guesses = Known()
    guesses.prepared("t", 2, AppId("t", "shop"), 5.0)
    assert guesses.session("t", 2) is None
    guesses.created(created("t", 3))
    guesses.prepared("t", 3, AppId("t", "shop"), 5.0)
    info = guesses.session("t", 3)
    assert info is not None
    assert (info.status, info.app.application, info.changed, info.created) == (
        SessionStatus.PREPARED,
        "shop",
        5.0,
        1.0,
    )


def test_an_activation_forgets_its_session_and_keeps_its_unit() -> None:
    guesses = Known()
    app = AppId("t")
    guesses.created(created("t", 2))
    guesses.activated(app, 2, {"a": "d1"})
    assert guesses.session("t", 2) is None
    unit = guesses.unit(app)
    assert unit is not None and (unit.active, dict(unit.digests)) == (2, {"a": "d1"})


def test_the_oldest_entries_go_first_past_the_bounds() -> None:
    guesses = Known()
    for index in range(known._UNITS + 5):
        guesses.read(AppId("t", f"app{index}"), index, {})
    assert guesses.unit(AppId("t", "app0")) is None
    assert guesses.unit(AppId("t", "app5")) is not None
    for session_id in range(known._SESSIONS + 1):
        guesses.created(created("t", session_id))
    assert guesses.session("t", 0) is None
    assert guesses.session("t", 1) is not None


def test_a_deleted_tenant_is_forgotten_whole() -> None:
    guesses = Known()
    for tenant in ("gone", "kept"):
        guesses.created(created(tenant, 2))
        guesses.read(AppId(tenant), 2, {"a": "d"})
    guesses.forget_tenant("gone")
    assert guesses.session("gone", 2) is None and guesses.unit(AppId("gone")) is None
    assert guesses.session("kept", 2) is not None and guesses.unit(AppId("kept")) is not None
