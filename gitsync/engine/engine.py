"""The Engine facade: one method per Vespa Deploy API v2 endpoint and Serve REST need.

It holds its parts and calls them: the store, the session lifecycle (lifecycle.py),
session files (files.py), the active applications (applications.py) and the runtime
driver, which owns the health gate and the automatic rollback (driver.py). They share
one EngineContext (context.py) whose lock serialises every call. Methods return the
records of records.py; errors are GitsyncErrors carrying the Vespa code and status.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from gitsync.config import model, package
from gitsync.config.schema import UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.engine.applications import Applications
from gitsync.engine.context import EngineContext, EngineState
from gitsync.engine.driver import RuntimeDriver
from gitsync.engine.files import SessionFiles
from gitsync.engine.lifecycle import SessionLifecycle
from gitsync.engine.records import (
    ActivateResult,
    AppId,
    ApplicationInfo,
    DeploySource,
    DirListing,
    FileContent,
    FileStatus,
    HistoryEntry,
    PrepareResult,
    ServeState,
    SessionInfo,
)
from gitsync.engine.runtime import NoneRuntime, Runtime
from gitsync.engine.sessions import app_id
from gitsync.engine.store import Store, locate
from gitsync.errors import NotFound

if TYPE_CHECKING:
    from gitsync.engine.unit_leases import UnitLeases

#: The lease whose holder runs session expiry when several engines share a store.
MAINTENANCE_LEASE = "maintenance"

#: The file a Serve REST ``PUT`` is stored as inside its package.
SERVE_API_CONFIG_FILE = "serve-api.yaml"


class Engine:
    """The embedded config server over one state directory.

    ``clock`` returns seconds since the epoch (inject a manual clock in tests);
    ``session_lifetime`` is Vespa's ``sessionLifetime`` (3600 s by default). With a
    managed runtime (Ray), a generation whose changed applications fail the health
    gate is marked failed and, with ``auto_rollback``, the last good generation is
    re-applied as a new one.
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
        unknown_keys: UnknownKeys = "warn",
        store: str | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.session_lifetime = session_lifetime
        self.limits = limits if limits is not None else package.PackageLimits()
        self._store = Store(locate(self.state_dir, store))
        self._maintenance: int | None = None  # the maintenance lease's epoch, when held
        self._ctx = EngineContext(self._store, clock)
        self._ctx.unknown_keys = unknown_keys
        self._driver = RuntimeDriver(
            self._ctx,
            runtime if runtime is not None else NoneRuntime(),
            auto_rollback=auto_rollback,
            rollback_to=self._roll_back_failed_gate,
        )
        self._sessions = SessionLifecycle(self._ctx, self._driver)
        self._files = SessionFiles(self._ctx, self.limits)
        self._apps = Applications(self._ctx, self._driver)

    @functools.cached_property
    def unit_leases(self) -> UnitLeases:
        """The agents' leases, one agent per unit (no Vespa endpoint); loaded on first use:
        a push hook's engine takes none."""
        from gitsync.engine.unit_leases import UnitLeases

        return UnitLeases(self._ctx)

    @property
    def runtime(self) -> Runtime:
        """What runs the activated applications (``NoneRuntime`` by default)."""
        return self._driver.runtime

    # -- lifecycle -------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Between a successful ``open()`` and ``close()``."""
        return self._ctx.is_open

    def open(self) -> Self:
        """Open the state directory (its writer lock, the schema), start the runtime."""
        with self._ctx.lock:
            if self._ctx.state is EngineState.OPENED:
                raise RuntimeError("The engine is already open.")
            if self._ctx.state is EngineState.CLOSED:
                raise RuntimeError("Cannot reopen an engine once it has been closed.")
            self._store.open(self._ctx.clock())
            self._ctx.state = EngineState.OPENED
            self._driver.start()
        return self

    def close(self) -> None:
        """Close the runtime and the store; idempotent."""
        with self._ctx.lock:
            was_open = self._ctx.state is EngineState.OPENED
            self._ctx.state = EngineState.CLOSED
        if not was_open:
            return
        try:
            self._driver.close()  # outside the lock: the runtime's thread may wait for it
        finally:
            with self._ctx.lock:
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

    # -- tenants (§2.10) -------------------------------------------------------------

    def list_tenants(self) -> list[str]:
        """``GET /application/v2/tenant``: tenant names, sorted."""
        return self._sessions.list_tenants()

    def get_tenant(self, tenant: str) -> None:
        """``GET /application/v2/tenant/{t}``: NotFound "Tenant 't' was not found." if absent."""
        self._sessions.get_tenant(tenant)

    def create_tenant(self, tenant: str) -> bool:
        """``PUT /application/v2/tenant/{t}``: True when created, False if it existed."""
        return self._sessions.create_tenant(tenant)

    def delete_tenant(self, tenant: str) -> None:
        """``DELETE /application/v2/tenant/{t}``: 400 for ``default`` or one in use."""
        self._sessions.delete_tenant(tenant)

    # -- sessions (§2.3, §2.5-2.7, §2.1-2.2) -------------------------------------------

    def create_session(self, tenant: str, package_bytes: bytes, content_type: str) -> SessionInfo:
        """``POST /application/v2/tenant/{t}/session`` with a zip or tar.gz body."""
        files = package.read_package(package_bytes, content_type, self.limits)
        app = app_id(tenant, "default", "default")
        return self._sessions.create_from_files(app, files, capped=True)

    def create_session_from_files(
        self,
        tenant: str,
        files: Mapping[str, bytes],
        *,
        application: str = "default",
        instance: str = "default",
    ) -> SessionInfo:
        """A session from already-read package files (the agent's path: no archive)."""
        return self._sessions.create_from_files(app_id(tenant, application, instance), files)

    def create_session_from_application(
        self, tenant: str, application: str, instance: str = "default"
    ) -> SessionInfo:
        """``POST …/session?from=<application URL>``: a copy of its active package."""
        return self._sessions.create_from_application(app_id(tenant, application, instance))

    def get_session(self, tenant: str, session_id: int) -> SessionInfo:
        """No Vespa endpoint: a session's state. Deleted or unknown: NotFound."""
        return self._sessions.get_session(tenant, session_id)

    def prepare(
        self,
        tenant: str,
        session_id: int,
        *,
        application: str = "default",
        instance: str = "default",
    ) -> PrepareResult:
        """``PUT …/session/{id}/prepared``: validate, check and diff the package."""
        return self._sessions.prepare(app_id(tenant, application, instance), session_id)

    def get_prepared(self, tenant: str, session_id: int) -> SessionInfo:
        """``GET …/session/{id}/prepared``: 200 only when PREPARED."""
        return self._sessions.get_prepared(tenant, session_id)

    def activate(
        self,
        tenant: str,
        session_id: int,
        *,
        force: bool = False,
        source: DeploySource | None = None,
    ) -> ActivateResult:
        """``PUT …/session/{id}/active``: commit the activation, then tell the runtime."""
        return self._sessions.activate(tenant, session_id, force=force, source=source)

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
        """``POST …/prepareandactivate``; with ``dry_run``, ``activated`` is False."""
        files = package.read_package(package_bytes, content_type, self.limits)
        app = app_id(tenant, application, instance)
        return self._sessions.deploy_files(app, files, force=force, dry_run=dry_run, source=source)

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
        """Create + prepare + activate from package files (the agent's path)."""
        app = app_id(tenant, application, instance)
        return self._sessions.deploy_files(app, files, force=force, dry_run=dry_run, source=source)

    def deploy(
        self,
        snapshot: Snapshot,
        *,
        tenant: str = "default",
        application: str = "default",
        instance: str = "default",
        force: bool = False,
    ) -> ActivateResult:
        """Deploy a source snapshot: its revision and commit metadata go into history."""
        source = DeploySource(revision=snapshot.revision, meta=dict(snapshot.meta))
        app = app_id(tenant, application, instance)
        return self._sessions.deploy_files(
            app, snapshot.files, force=force, dry_run=False, source=source
        )

    # -- session content (§2.4) --------------------------------------------------------

    def get_content(
        self, tenant: str, session_id: int, path: str, *, recursive: bool = False
    ) -> FileContent | DirListing:
        """``GET …/session/{id}/content/{path}``: a file's bytes or a directory listing."""
        return self._files.get(tenant, session_id, path, recursive=recursive)

    def get_content_status(
        self, tenant: str, session_id: int, path: str
    ) -> FileStatus | list[FileStatus]:
        """``GET …/content/{path}?return=status``: a status, a list for a directory."""
        return self._files.status(tenant, session_id, path)

    def put_content(self, tenant: str, session_id: int, path: str, data: bytes | None) -> None:
        """``PUT …/session/{id}/content/{path}``: write a file or make a directory."""
        self._files.put(tenant, session_id, path, data)

    def delete_content(self, tenant: str, session_id: int, path: str) -> None:
        """``DELETE …/session/{id}/content/{path}``: a file or an empty directory."""
        self._files.delete(tenant, session_id, path)

    # -- applications (§2.8) -------------------------------------------------------------

    def list_applications(self, tenant: str) -> list[AppId]:
        """``GET /application/v2/tenant/{t}/application/``: the active applications."""
        return self._apps.list_active(tenant)

    def get_application(
        self, tenant: str, application: str, instance: str = "default"
    ) -> ApplicationInfo:
        """``GET …/application/{a}[/…/instance/{i}]`` and ``serviceconverge``."""
        return self._apps.get(app_id(tenant, application, instance))

    def delete_application(self, tenant: str, application: str, instance: str = "default") -> None:
        """``DELETE …/application/{a}[/…/instance/{i}]``, and the runtime drops it."""
        self._apps.delete(app_id(tenant, application, instance))

    def get_application_content(
        self,
        tenant: str,
        application: str,
        instance: str,
        path: str,
        *,
        recursive: bool = False,
    ) -> FileContent | DirListing:
        """``GET …/instance/{i}/content/{path}``: read the active session's files."""
        app = app_id(tenant, application, instance)
        return self._files.get_active(app, path, recursive=recursive)

    def history(
        self, tenant: str, application: str = "default", instance: str = "default"
    ) -> list[HistoryEntry]:
        """No Vespa endpoint: the unit's activations, newest first (``gitsync history``)."""
        return self._apps.history(app_id(tenant, application, instance))

    def active_code_digests(
        self, tenant: str, application: str = "default", instance: str = "default"
    ) -> dict[str, str]:
        """No Vespa endpoint (``gitsync diff``): the active generation's code digests."""
        return self._apps.code_digests(app_id(tenant, application, instance))

    def active_warnings(
        self, tenant: str, application: str = "default", instance: str = "default"
    ) -> list[str]:
        """No Vespa endpoint (``gitsync status``): what prepare warned about in the active
        generation (unknown keys Ray drops)."""
        return self._apps.warnings(app_id(tenant, application, instance))

    def session_counts(self) -> dict[tuple[str, str], int]:
        """No Vespa endpoint (``/metrics``): sessions by (tenant, state)."""
        return self._apps.session_counts()

    @property
    def state_version(self) -> int:
        """Grows with every commit, of this engine or of any other on the same store:
        the HTTP layer may cache renderings on it."""
        return self._store.version()

    # -- live state, the Serve REST API, the runtime -------------------------------------

    def live(
        self, tenant: str = "default", application: str = "default", instance: str = "default"
    ) -> ServeState:
        """``GET /api/serve/applications/``: the active config and the live state."""
        return self._driver.live(app_id(tenant, application, instance))

    def drift(
        self, tenant: str = "default", application: str = "default", instance: str = "default"
    ) -> list[str]:
        """No Vespa endpoint (the agent): how the runtime differs from the active one."""
        return self._driver.drift(app_id(tenant, application, instance))

    def serve_deploy(
        self,
        config: Mapping[str, Any],
        *,
        tenant: str = "default",
        application: str = "default",
        source: DeploySource | None = None,
    ) -> ActivateResult:
        """``PUT /api/serve/applications/``: deploy the config as a one-file package."""
        text = json.dumps(config, indent=2, sort_keys=True).encode()
        return self._sessions.deploy_files(
            app_id(tenant, application, "default"),
            {SERVE_API_CONFIG_FILE: text},
            force=False,
            dry_run=False,
            source=source or DeploySource(package.sha256_hex(text), {"via": "Serve REST"}),
        )

    def serve_delete(self, *, tenant: str = "default", application: str = "default") -> bool:
        """``DELETE /api/serve/applications/``: delete the unit; False if none was."""
        try:
            self.delete_application(tenant, application)
        except NotFound:
            return False
        return True

    def reapply(self, tenant: str, application: str = "default", instance: str = "default") -> int:
        """No Vespa endpoint (``--self-heal``): give the runtime the active one again."""
        return self._driver.reapply(app_id(tenant, application, instance))

    def wait_settled(
        self,
        tenant: str,
        generation: int,
        timeout: float,
        *,
        application: str = "default",
        instance: str = "default",
    ) -> HistoryEntry | None:
        """Block until the health gate has decided on ``generation`` or ``timeout``."""
        app = app_id(tenant, application, instance)
        return self._driver.wait_settled(app, generation, timeout)

    # -- rollback, expiry ------------------------------------------------------------------

    def rollback(
        self,
        tenant: str,
        application: str = "default",
        generation: int | None = None,
        *,
        instance: str = "default",
    ) -> ActivateResult:
        """No Vespa endpoint: re-apply ``generation`` (default: the previous one)."""
        return self._sessions.rollback(app_id(tenant, application, instance), generation)

    def generation_files(
        self, tenant: str, application: str, generation: int, instance: str = "default"
    ) -> dict[str, bytes]:
        """No Vespa endpoint (the web page): the package files a generation activated."""
        return self._apps.generation_files(app_id(tenant, application, instance), generation)

    def generation_model(
        self, tenant: str, application: str, generation: int, instance: str = "default"
    ) -> model.DeployConfig:
        """No Vespa endpoint (the web page's plans): a past generation's canonical config."""
        return self._apps.generation_model(app_id(tenant, application, instance), generation)

    def generation_plan_text(
        self, tenant: str, application: str, generation: int, instance: str = "default"
    ) -> str | None:
        """No Vespa endpoint (the web page): the plan text a generation was prepared
        with, while its session lives."""
        return self._apps.generation_plan_text(app_id(tenant, application, instance), generation)

    def _roll_back_failed_gate(self, app: AppId, target: HistoryEntry) -> ActivateResult:
        return self._sessions.rollback(app, target.generation)

    def check_store(self) -> None:
        """No Vespa endpoint (``/state/v1/health``): StoreUnavailable unless the store
        answers now. Not under the engine's lock: a slow write must not fail the check."""
        self._ctx.open_store().ping()

    def runtime_driver(self) -> dict[str, Any] | None:
        """Which engine drives the Ray runtime (the ``runtime`` lease); None without one."""
        return self._driver.driver_status()

    @property
    def shared_store(self) -> bool:
        """True when other engines may write the same store (PostgreSQL)."""
        return self._store.location.shared

    def run_maintenance(self, holder: str, interval_s: float) -> bool:
        """One pass of session expiry, by one engine of those sharing the store: the
        holder of the ``maintenance`` lease (taken or renewed here for two intervals).
        Returns whether this engine ran it."""
        with self._ctx.lock:
            store = self._ctx.open_store()
            epoch = store.claim_lease(
                MAINTENANCE_LEASE, holder, "", time.time(), 2 * interval_s, self._maintenance
            )
            self._maintenance = epoch
        if epoch is None:
            return False
        self.expire_sessions()
        return True

    def expire_sessions(self) -> list[tuple[str, int]]:
        """Vespa's SessionsMaintainer: delete expired sessions; the (tenant, id) pairs."""
        return self._sessions.expire(self.session_lifetime)
