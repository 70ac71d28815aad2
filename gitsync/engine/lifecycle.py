"""The engine core: lifecycle, tenants and the session lifecycle endpoints.

``EngineCore`` holds the state and the create → prepare → activate path; ``Engine``
(engine.py) adds content, applications, live state, history and rollback on top.
Calls are serialised by one lock, so the HTTP layer may call from a thread pool.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from gitsync.config import package
from gitsync.config.snapshot import Snapshot
from gitsync.engine import health, sessions
from gitsync.engine.activation import (
    PreparedCache,
    build_activation,
    dry_run_result,
    with_prepare,
)
from gitsync.engine.gate import RuntimeDriver
from gitsync.engine.prepare import prepare_package
from gitsync.engine.records import (
    ActivateResult,
    DeploySource,
    PrepareResult,
    SessionInfo,
    SessionStatus,
)
from gitsync.engine.runtime import ManagedRuntime, NoneRuntime, Runtime
from gitsync.engine.store import Store
from gitsync.errors import BadRequest, NotFound

log = logging.getLogger("gitsync.engine")


class EngineState(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class EngineCore(RuntimeDriver):
    """The embedded config server over one state directory.

    ``clock`` returns seconds since the epoch (inject a manual clock in tests);
    ``session_lifetime`` is Vespa's ``sessionLifetime`` (3600 s by default).
    With a managed runtime (Ray), a generation whose changed applications fail the
    health gate is marked failed and, with ``auto_rollback``, the last good generation
    is re-applied as a new one.
    """

    def __init__(
        self,
        state_dir: str | Path,
        *,
        runtime: Runtime | None = None,
        clock: Callable[[], float] = time.time,
        session_lifetime: float = 3600.0,
        limits: package.PackageLimits | None = None,
        auto_rollback: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.runtime: Runtime = runtime if runtime is not None else NoneRuntime()
        self.clock = clock
        self.session_lifetime = session_lifetime
        self.limits = limits if limits is not None else package.PackageLimits()
        self._store = Store(self.state_dir)
        self.auto_rollback = auto_rollback
        self._lock = threading.RLock()
        self._settled = threading.Condition(self._lock)  # notified on each gate verdict
        self._prepared = PreparedCache()
        self._state = EngineState.UNOPENED

    # -- lifecycle -------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._state is EngineState.OPENED

    def open(self) -> Self:
        """Open the state directory: take its writer lock, migrate the schema."""
        with self._lock:
            if self._state is EngineState.OPENED:
                raise RuntimeError("The engine is already open.")
            if self._state is EngineState.CLOSED:
                raise RuntimeError("Cannot reopen an engine once it has been closed.")
            self._store.open(self.clock())
            self._state = EngineState.OPENED
            if isinstance(self.runtime, ManagedRuntime):
                self.runtime.set_listener(self._on_gate_outcome)
                self._resync_runtime()
        return self

    def close(self) -> None:
        """Close the store and the runtime; idempotent."""
        with self._lock:
            was_open = self._state is EngineState.OPENED
            self._state = EngineState.CLOSED
        if not was_open:
            return
        try:
            # Outside the lock: the runtime's thread may be waiting for it to report.
            self.runtime.close()
        finally:
            with self._lock:
                self._store.close()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> Store:
        if self._state is not EngineState.OPENED:
            raise RuntimeError(f"The engine is {self._state.value}: call open() first.")
        return self._store

    # -- tenants (§2.10) -------------------------------------------------------------

    def list_tenants(self) -> list[str]:
        """``GET /application/v2/tenant``: tenant names, sorted."""
        with self._lock:
            return self._check_open().list_tenants()

    def get_tenant(self, tenant: str) -> None:
        """``GET /application/v2/tenant/{t}``: NotFound "Tenant 't' was not found." if absent."""
        with self._lock:
            self._require_tenant(tenant)

    def create_tenant(self, tenant: str) -> bool:
        """``PUT /application/v2/tenant/{t}``: True when created, False if it existed."""
        sessions.check_name("tenant", tenant)
        with self._lock:
            return self._check_open().create_tenant(tenant, self.clock())

    def delete_tenant(self, tenant: str) -> None:
        """``DELETE /application/v2/tenant/{t}``: refuses ``default`` and tenants with
        active applications (400), unknown tenants (404)."""
        with self._lock:
            store = self._require_tenant(tenant)
            if tenant == sessions.DEFAULT_TENANT:
                raise BadRequest("Deleting 'default' tenant is not allowed")
            active = store.list_applications(tenant)
            if active:
                names = ", ".join(row.app.full_string() for row in active)
                raise BadRequest(
                    f"Cannot delete tenant '{tenant}', it has active applications: [{names}]"
                )
            store.delete_tenant(tenant)
            self._prepared.drop_tenant(tenant)

    # -- sessions (§2.3, §2.5-2.7, §2.1-2.2) -------------------------------------------

    def create_session(self, tenant: str, package_bytes: bytes, content_type: str) -> SessionInfo:
        """``POST /application/v2/tenant/{t}/session`` with a zip or tar.gz body.

        The session belongs to ``t:default:default`` until prepared (Vespa's rule); its
        ``previousActiveGeneration`` is that application's active session.
        """
        files = package.read_package(package_bytes, content_type, self.limits)
        return self.create_session_from_files(tenant, files)

    def create_session_from_files(
        self,
        tenant: str,
        files: Mapping[str, bytes],
        *,
        application: str = "default",
        instance: str = "default",
    ) -> SessionInfo:
        """A session from already-read package files (the agent's path: no archive).
        Paths are checked as archive entries are."""
        app = sessions.app_id(tenant, application, instance)
        clean = package.normalize_files(files)
        with self._lock:
            store = self._require_tenant(tenant)
            previous = store.active_session_id(app) or 0
            session_id = store.create_session(app, self.clock(), previous, files=clean)
            return self._session(tenant, session_id)

    def create_session_from_application(
        self, tenant: str, application: str, instance: str = "default"
    ) -> SessionInfo:
        """``POST /application/v2/tenant/{t}/session?from=<application URL>``: a copy of
        that application's active package (400 if it has none)."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            active = store.active_session_id(app)
            if active is None:
                raise BadRequest(f"Application '{app.full_string()}' has no active session.")
            session_id = store.create_session(app, self.clock(), active, copy_from=(tenant, active))
            return self._session(tenant, session_id)

    def get_session(self, tenant: str, session_id: int) -> SessionInfo:
        """No Vespa endpoint (Vespa has none): a session's state, for callers and tests.
        Deleted or unknown sessions: NotFound "Local session N for 't' was not found"."""
        with self._lock:
            self._require_tenant(tenant)
            return self._session(tenant, session_id)

    def prepare(
        self,
        tenant: str,
        session_id: int,
        *,
        application: str = "default",
        instance: str = "default",
    ) -> PrepareResult:
        """``PUT /application/v2/tenant/{t}/session/{id}/prepared``.

        Loads and validates the package, checks Serve names and route prefixes against
        the tenant's other deployment units, and computes the change actions against
        the active generation. A failed prepare deletes the session (Vespa's rule).
        """
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            info = self._session(tenant, session_id)
            sessions.check_can_prepare(info)
            files = store.session_file_data(tenant, session_id)
            live = store.get_application(app)
            live_prepared = self._prepared.get(store, tenant, live.session_id) if live else None
            others = store.serve_apps_of_tenant(tenant, exclude=app)
            try:
                prepared = prepare_package(files, live_prepared, others, self.clock())
            except Exception:  # any failed prepare deletes the session, as in Vespa
                store.delete_session(tenant, session_id)
                self._prepared.drop(tenant, session_id)
                raise
            store.save_prepared(tenant, session_id, app, *prepared.to_record(), self.clock())
            self._prepared.put(tenant, session_id, prepared)
            return PrepareResult(
                session=self._session(tenant, session_id),
                log=prepared.log,
                actions=prepared.actions,
            )

    def get_prepared(self, tenant: str, session_id: int) -> SessionInfo:
        """``GET /application/v2/tenant/{t}/session/{id}/prepared``: 200 only when
        PREPARED; unknown sessions give "Remote session N for 't' was not found"."""
        with self._lock:
            self._require_tenant(tenant)
            try:
                info = self._session(tenant, session_id)
            except NotFound as exc:
                raise NotFound(f"Remote session {session_id} for '{tenant}' was not found") from exc
            sessions.check_get_prepared(info)
            return info

    def activate(
        self,
        tenant: str,
        session_id: int,
        *,
        force: bool = False,
        source: DeploySource | None = None,
    ) -> ActivateResult:
        """``PUT …/session/{id}/active`` and ``PUT …/prepareandactivate/{id}``.

        One durable transaction: this session ACTIVE, the previous one DEACTIVATED, the
        live config replaced, removed Serve applications dropped, a history record.
        Re-activating the active session is a no-op; conflicts are 409 (§4.4).
        """
        return self._activate(tenant, session_id, force=force, source=source, kind="deploy")

    def prepare_and_activate(
        self,
        tenant: str,
        package_bytes: bytes,
        content_type: str,
        *,
        application: str = "default",
        instance: str = "default",
        force: bool = False,
        dry_run: bool = False,
        source: DeploySource | None = None,
    ) -> ActivateResult:
        """``POST /application/v2/tenant/{t}/prepareandactivate``: create, prepare and
        activate in one call. With ``dry_run`` the session is prepared but not activated
        and ``activated`` is False (we fix Vespa's quirk of reporting it activated)."""
        files = package.read_package(package_bytes, content_type, self.limits)
        return self.deploy_files(
            files,
            tenant=tenant,
            application=application,
            instance=instance,
            force=force,
            dry_run=dry_run,
            source=source,
        )

    def deploy_files(
        self,
        files: Mapping[str, bytes],
        *,
        tenant: str = "default",
        application: str = "default",
        instance: str = "default",
        force: bool = False,
        dry_run: bool = False,
        source: DeploySource | None = None,
    ) -> ActivateResult:
        """Create + prepare + activate from package files (no Vespa endpoint; the agent,
        ``prepareandactivate`` and the Serve ``PUT`` all come through here)."""
        with self._lock:
            info = self.create_session_from_files(
                tenant, files, application=application, instance=instance
            )
            prepared = self.prepare(
                tenant, info.session_id, application=application, instance=instance
            )
            if dry_run:
                return self._dry_run_result(prepared)
            result = self.activate(tenant, info.session_id, force=force, source=source)
            return with_prepare(result, prepared)

    def deploy(
        self,
        snapshot: Snapshot,
        *,
        tenant: str = "default",
        application: str = "default",
        instance: str = "default",
        force: bool = False,
    ) -> ActivateResult:
        """Deploy a source snapshot (the agent's ``sync``): its revision and commit
        metadata go into history."""
        source = DeploySource(revision=snapshot.revision, meta=dict(snapshot.meta))
        return self.deploy_files(
            snapshot.files,
            tenant=tenant,
            application=application,
            instance=instance,
            force=force,
            source=source,
        )

    # -- internals ---------------------------------------------------------------------------

    def _is_open(self) -> bool:
        return self._state is EngineState.OPENED

    def _require_tenant(self, tenant: str) -> Store:
        store = self._check_open()
        sessions.check_name("tenant", tenant)
        if not store.tenant_exists(tenant):
            raise NotFound(f"Tenant '{tenant}' was not found.")
        return store

    def _session(self, tenant: str, session_id: int) -> SessionInfo:
        info = self._store.get_session(tenant, session_id)
        if info is None or info.status is SessionStatus.DELETED:
            raise NotFound(f"Local session {session_id} for '{tenant}' was not found")
        return info

    def _activate(
        self,
        tenant: str,
        session_id: int,
        *,
        force: bool,
        source: DeploySource | None,
        kind: str,
        rollback_of: int | None = None,
    ) -> ActivateResult:
        with self._lock:
            store = self._require_tenant(tenant)
            info = self._session(tenant, session_id)
            active = store.active_session_id(info.app)
            log = sessions.check_activation(info, active, force, self.clock())
            prepared = self._prepared.get(store, tenant, session_id)
            gated = isinstance(self.runtime, ManagedRuntime)
            if info.status is not SessionStatus.ACTIVE:
                store.activate(
                    build_activation(
                        info,
                        active,
                        self.clock(),
                        prepared,
                        kind,
                        source,
                        rollback_of,
                        health.PENDING if gated else "",
                    )
                )
            result = ActivateResult(
                session=self._session(tenant, session_id),
                app=info.app,
                generation=session_id,
                previous_active_generation=info.previous_active_generation,
                checksum=prepared.checksum,
                log=log,
                actions=prepared.actions,
            )
            if info.status is not SessionStatus.ACTIVE:
                # Under the lock, so the runtime sees activations in generation order.
                self._push(info.app, session_id, prepared, health.gated_apps(prepared.actions))
        return result

    def _dry_run_result(self, prepared: PrepareResult) -> ActivateResult:
        info = prepared.session
        return dry_run_result(
            prepared, self._prepared.get(self._store, info.tenant, info.session_id)
        )
