"""What this engine last wrote to a shared store: the sessions it created and prepared,
and the units it activated. An activation on PostgreSQL starts from it instead of a
read (a round trip): it is only a guess, which the activation's single write statement
verifies (the session's ``changed`` stamp, the unit's active session) before it writes
anything. A wrong guess (another engine wrote since) writes nothing, is forgotten, and
the engine checks again from a fresh read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from gitsync.engine.records import AppId, SessionInfo, SessionStatus

# An engine activates what it has just prepared: few entries are needed. A unit's entry
# holds a digest per Serve application, so units are bounded tighter.
_SESSIONS = 1024
_UNITS = 64

K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """A bounded mapping that forgets its oldest entries first."""

    def __init__(self, limit: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._limit = limit
        self._mutex = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._mutex:
            return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        with self._mutex:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def forget(self, key: K) -> None:
        with self._mutex:
            self._items.pop(key, None)

    def forget_where(self, keep: Callable[[K], bool]) -> None:
        with self._mutex:
            for key in [key for key in self._items if not keep(key)]:
                del self._items[key]


class UnitState:
    """A unit's active session and its Serve applications' digests."""

    __slots__ = ("active", "digests")

    def __init__(self, active: int | None, digests: Mapping[str, str]) -> None:
        self.active = active
        self.digests = digests


class Known:
    """The guesses (see the module's docstring)."""

    def __init__(self) -> None:
        self._sessions: _Recent[tuple[str, int], SessionInfo] = _Recent(_SESSIONS)
        self._units: _Recent[tuple[str, str, str], UnitState] = _Recent(_UNITS)

    def session(self, tenant: str, session_id: int) -> SessionInfo | None:
        return self._sessions.get((tenant, session_id))

    def unit(self, app: AppId) -> UnitState | None:
        return self._units.get(_key(app))

    def created(self, info: SessionInfo) -> None:
        self._sessions.put((info.tenant, info.session_id), info)

    def prepared(self, tenant: str, session_id: int, app: AppId, now: float) -> None:
        """The session became PREPARED for ``app`` at ``now``: known only if its creation
        was (its other fields come from there)."""
        info = self._sessions.get((tenant, session_id))
        if info is not None:
            prepared = info._replace(status=SessionStatus.PREPARED, app=app, changed=now)
            self._sessions.put((tenant, session_id), prepared)

    def activated(self, app: AppId, session_id: int, digests: Mapping[str, str]) -> None:
        self._sessions.forget((app.tenant, session_id))
        self._units.put(_key(app), UnitState(session_id, digests))

    def read(self, app: AppId, active: int | None, digests: Mapping[str, str]) -> None:
        self._units.put(_key(app), UnitState(active, digests))

    def forget(self, tenant: str, session_id: int, app: AppId | None = None) -> None:
        self._sessions.forget((tenant, session_id))
        if app is not None:
            self._units.forget(_key(app))

    def forget_unit(self, app: AppId) -> None:
        self._units.forget(_key(app))

    def forget_tenant(self, tenant: str) -> None:
        self._sessions.forget_where(lambda key: key[0] != tenant)
        self._units.forget_where(lambda key: key[0] != tenant)


def _key(app: AppId) -> tuple[str, str, str]:
    return (app.tenant, app.application, app.instance)
