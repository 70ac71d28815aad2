"""Session lifecycle rules with Vespa's semantics and messages (vespa-deploy-api.md §4).

Pure functions over SessionInfo: which operation is legal in which state (the table
of §4.2), the two activation-conflict checks of §4.4, name rules (§6) and the choice
of a rollback target. The engine calls them under its lock, then writes via the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitsync.engine.records import AppId, HistoryEntry, LogEntry, SessionInfo, SessionStatus
from gitsync.errors import ActivationConflict, BadRequest, InvalidName, NotFound

DEFAULT_TENANT = "default"
NAME_PATTERN = "[a-zA-Z0-9_-]{1,256}"
_NAME = re.compile(NAME_PATTERN)


def check_name(kind: str, value: str) -> None:
    """400 "<kind> name must match '…', but got: '…'" for a bad tenant/application/instance."""
    if not _NAME.fullmatch(value):
        raise InvalidName(f"{kind} name must match '{NAME_PATTERN}', but got: '{value}'")


def app_id(tenant: str, application: str, instance: str) -> AppId:
    check_name("tenant", tenant)
    check_name("application", application)
    check_name("instance", instance)
    return AppId(tenant, application, instance)


def log_prefix(app: AppId) -> str:
    """Vespa prefixes messages with ``app:t.a.i `` unless the tenant is ``default``."""
    return "" if app.tenant == DEFAULT_TENANT else f"app:{app.full_string()} "


def check_can_write(info: SessionInfo) -> None:
    """Content PUT/DELETE: legal in every state but ACTIVE (we refuse Vespa's quirk of
    silently flipping the active session to NEW; §11.1)."""
    if info.status is SessionStatus.ACTIVE:
        raise BadRequest(f"Session {info.session_id} is active")


def check_can_prepare(info: SessionInfo) -> None:
    """PUT prepared: NEW, PREPARED (re-prepare) and DEACTIVATED are fine; ACTIVE is 400."""
    if info.status is SessionStatus.ACTIVE:
        raise BadRequest(f"Session {info.session_id} for '{info.tenant}' is active")


def check_get_prepared(info: SessionInfo) -> None:
    """GET prepared: 200 only when PREPARED."""
    if info.status is SessionStatus.ACTIVE:
        raise BadRequest(f"Session is active: {info.session_id}")
    if info.status is not SessionStatus.PREPARED:
        raise BadRequest(f"Session not prepared: {info.session_id}")


def check_activation(
    info: SessionInfo, active: int | None, force: bool, now: float
) -> list[LogEntry]:
    """PUT active. Returns log entries (a forced stale activation logs a warning).

    * NEW: 400 "Session N is not prepared".
    * ACTIVE and the application's active session: a no-op.
    * Stale base (§4.4 check 1): the session was created while A was active and a newer
      session C is active now: 409 unless ``force``.
    * Older than the active session (check 2): 409 always.
    """
    session_id = info.session_id
    prefix = log_prefix(info.app)
    if info.status is SessionStatus.NEW:
        raise BadRequest(f"{prefix}Session {session_id} is not prepared")
    if info.status is SessionStatus.ACTIVE and active == session_id:
        return []
    if active is None:
        return []
    base = info.previous_active_generation
    log: list[LogEntry] = []
    if base != 0 and active > base and active != session_id:
        message = (
            f"{prefix}This session {session_id} was prepared when session {base} was active, "
            f"but session {active} has since become active: refusing to activate this "
            "session, please redeploy"
        )
        if not force:
            raise ActivationConflict(message)
        log.append(LogEntry(int(now * 1000), "WARNING", message + " (continuing because of force)"))
    if session_id < active:
        raise ActivationConflict(
            f"{prefix}Cannot activate session {session_id}, because it is older than current "
            f"active session ({active}), please try deploying again from start"
        )
    return log


def pick_rollback_target(
    app: AppId, entries: Sequence[HistoryEntry], active: int | None, generation: int | None
) -> HistoryEntry:
    """The history entry to roll back to: ``generation`` if given, else the newest one
    older than the active generation. ``entries`` are newest first."""
    if generation is not None:
        for entry in entries:
            if entry.generation == generation:
                return entry
        raise NotFound(f"Generation {generation} of '{app.full_string()}' is not in its history")
    for entry in entries:
        if active is None or entry.generation < active:
            return entry
    raise BadRequest(f"'{app.full_string()}' has no earlier generation to roll back to")
