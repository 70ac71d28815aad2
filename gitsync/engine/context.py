"""What the engine's parts share: the store, the clock, one lock and the prepared cache.

The Engine facade (engine.py) builds one EngineContext and hands it to each of its
parts (session lifecycle, content access, applications, runtime driver). Every part
takes ``lock`` around its work, so calls from the HTTP layer's thread pool and the
runtime's thread are serialised; the lock is re-entrant, so one part may call another.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

from gitsync.config.schema import UnknownKeys
from gitsync.engine import sessions
from gitsync.engine.activation import PreparedCache
from gitsync.engine.prepare import PreparedPackage
from gitsync.engine.records import SessionInfo, SessionStatus
from gitsync.engine.store import Store
from gitsync.errors import NotFound


class EngineState(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class EngineContext:
    """The state every part of one engine reads and writes, and the checks they share."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self.lock = threading.RLock()
        self.prepared = PreparedCache(shared=store.location.shared)
        self.state = EngineState.UNOPENED
        # Unknown keys Ray drops, in the packages prepare checks: Ray's contract (warn)
        # unless the engine runs with --unknown-keys error.
        self.unknown_keys: UnknownKeys = "warn"

    @property
    def is_open(self) -> bool:
        return self.state is EngineState.OPENED

    def open_store(self) -> Store:
        """The store, or RuntimeError when the engine is not open."""
        if self.state is not EngineState.OPENED:
            raise RuntimeError(f"The engine is {self.state.value}: call open() first.")
        return self.store

    def require_tenant(self, tenant: str) -> Store:
        """The store, once ``tenant`` is a valid name of an existing tenant (else 400/404)."""
        store = self.open_store()
        sessions.check_name("tenant", tenant)
        if not store.tenant_exists(tenant):
            raise NotFound(f"Tenant '{tenant}' was not found.")
        return store

    def session(self, tenant: str, session_id: int) -> SessionInfo:
        """A session that exists and is not deleted (else 404)."""
        info = self.store.get_session(tenant, session_id)
        if info is None or info.status is SessionStatus.DELETED:
            raise NotFound(f"Local session {session_id} for '{tenant}' was not found")
        return info

    def tenant_session(self, tenant: str, session_id: int) -> tuple[Store, SessionInfo]:
        """The store and a session that exists and is not deleted, in one read (the
        tenant is checked only when the session is not found: a tenant's sessions go
        with it)."""
        store = self.open_store()
        sessions.check_name("tenant", tenant)
        return store, self.found(tenant, session_id, store.get_session(tenant, session_id))

    def found(self, tenant: str, session_id: int, info: SessionInfo | None) -> SessionInfo:
        """``info`` as just read, if the session exists and is not deleted (else 404; the
        tenant is checked only then: a tenant's sessions go with it)."""
        if info is None or info.status is SessionStatus.DELETED:
            self.require_tenant(tenant)
            raise NotFound(f"Local session {session_id} for '{tenant}' was not found")
        return info

    def prepared_package(
        self, tenant: str, session_id: int, *, read: SessionInfo | None = None
    ) -> PreparedPackage:
        """A prepared session's package, from the cache or decoded from the store.
        ``read``: the session as the caller just read it under the lock (its stamp
        tells whether the cached package is current without reading it again)."""
        return self.prepared.get(self.store, tenant, session_id, read=read)
