"""The Engine facade: one method per Vespa Deploy API v2 endpoint and Serve REST need.

Every public method names the endpoint it serves. Methods take and return plain
values and the records of ``records.py``; errors are GitsyncErrors carrying the
Vespa error-code and HTTP status. Calls are serialised by one lock, so the HTTP
layer may call from a thread pool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitsync.config import model, package
from gitsync.engine import content, sessions
from gitsync.engine.activation import with_prepare
from gitsync.engine.core import EngineCore
from gitsync.engine.prepare import prepare_package
from gitsync.engine.records import (
    ActivateResult,
    AppId,
    ApplicationInfo,
    DeploySource,
    DirListing,
    FileContent,
    FileStatus,
    HistoryEntry,
    ServeState,
)
from gitsync.engine.runtime import ManagedRuntime, UnitDeploy
from gitsync.errors import NotFound

#: The file a Serve REST ``PUT`` is stored as inside its package.
SERVE_API_CONFIG_FILE = "serve-api.yaml"


class Engine(EngineCore):
    """The embedded config server over one state directory: one method per Vespa
    Deploy API v2 endpoint and Serve REST need (see EngineCore for the constructor)."""

    # -- session content (§2.4) --------------------------------------------------------

    def get_content(
        self, tenant: str, session_id: int, path: str, *, recursive: bool = False
    ) -> FileContent | DirListing:
        """``GET …/session/{id}/content/{path}``: a file's bytes or a directory listing."""
        with self._lock:
            store = self._require_tenant(tenant)
            self._session(tenant, session_id)
            rows = store.session_files(tenant, session_id)
            return content.get(rows, path, session_id, recursive, store.read_blob)

    def get_content_status(
        self, tenant: str, session_id: int, path: str
    ) -> FileStatus | list[FileStatus]:
        """``GET …/session/{id}/content/{path}?return=status``: one status for a file,
        a list for a directory."""
        with self._lock:
            store = self._require_tenant(tenant)
            self._session(tenant, session_id)
            return content.status(store.session_files(tenant, session_id), path)

    def put_content(self, tenant: str, session_id: int, path: str, data: bytes | None) -> None:
        """``PUT …/session/{id}/content/{path}``: write a file (body required) or, for a
        path ending in ``/``, make a directory. Resets the session to NEW; refused on
        the active session (400)."""
        with self._lock:
            store = self._require_tenant(tenant)
            info = self._session(tenant, session_id)
            sessions.check_can_write(info)
            rows = store.session_files(tenant, session_id)
            change = content.plan_put(rows, path, data)
            store.apply_content_change(tenant, session_id, change, self.clock())
            self._prepared.drop(tenant, session_id)

    def delete_content(self, tenant: str, session_id: int, path: str) -> None:
        """``DELETE …/session/{id}/content/{path}``: a file or an empty directory. Resets
        the session to NEW; refused on the active session (400)."""
        with self._lock:
            store = self._require_tenant(tenant)
            info = self._session(tenant, session_id)
            sessions.check_can_write(info)
            rows = store.session_files(tenant, session_id)
            change = content.plan_delete(rows, path, session_id)
            store.apply_content_change(tenant, session_id, change, self.clock())
            self._prepared.drop(tenant, session_id)

    # -- applications (§2.8) -------------------------------------------------------------

    def list_applications(self, tenant: str) -> list[AppId]:
        """``GET /application/v2/tenant/{t}/application/``: the active applications."""
        with self._lock:
            store = self._require_tenant(tenant)
            return [row.app for row in store.list_applications(tenant)]

    def get_application(
        self, tenant: str, application: str, instance: str = "default"
    ) -> ApplicationInfo:
        """``GET …/application/{a}[/environment/…/instance/{i}]`` (and ``serviceconverge``:
        current = wanted = ``generation``). 404 "Unknown application id 't.a.i'"."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            row = self._require_tenant(tenant).get_application(app)
            if row is None:
                raise NotFound(f"Unknown application id '{app.full_string()}'")
            return ApplicationInfo(app, row.session_id, row.checksum, row.activated)

    def delete_application(self, tenant: str, application: str, instance: str = "default") -> None:
        """``DELETE …/application/{a}[/…/instance/{i}]``: the active session becomes
        DELETED and the application entry goes. 404 "Unable to delete t.a.i: Not found"."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            if store.get_application(app) is None:
                raise NotFound(f"Unable to delete {app.full_string()}: Not found")
            store.delete_application(app, self.clock())
            if isinstance(self.runtime, ManagedRuntime):
                self.runtime.deploy(UnitDeploy(app, 0, None))
            else:
                self.runtime.apply(app, None)

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
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            row = self._require_tenant(tenant).get_application(app)
            if row is None:
                raise NotFound(f"Unknown application id '{app.full_string()}'")
            return self.get_content(tenant, row.session_id, path, recursive=recursive)

    # -- live state and the Serve REST API ------------------------------------------------

    def live(
        self, tenant: str = "default", application: str = "default", instance: str = "default"
    ) -> ServeState:
        """``GET /api/serve/applications/`` (and ``gitsync status``): the active deploy
        config and per Serve application/deployment live state from the runtime."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            row = store.get_application(app)
            deployed = store.deployed_apps(app)
        apps = self.runtime.live(app, deployed) if row is not None else []
        config = json.loads(row.config_json) if row is not None else None
        generation = row.session_id if row is not None else 0
        drift, error = [], None
        if isinstance(self.runtime, ManagedRuntime):
            drift = self.runtime.drift(app) if row is not None else []
            error = self.runtime.error()
        return ServeState(app, generation, config, apps, self.runtime.name, drift, error)

    def drift(
        self, tenant: str = "default", application: str = "default", instance: str = "default"
    ) -> list[str]:
        """No Vespa endpoint (the agent's drift check): how the runtime's config differs
        from the active generation; empty when in sync, unknown, or no managed runtime."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            active = self._require_tenant(tenant).get_application(app) is not None
        if not active or not isinstance(self.runtime, ManagedRuntime):
            return []
        return self.runtime.drift(app)

    @property
    def state_version(self) -> int:
        """Grows with every committed change: equal versions mean equal state, so the
        HTTP layer may serve a cached rendering without touching SQLite."""
        return self._store.writes

    def session_counts(self) -> dict[tuple[str, str], int]:
        """No Vespa endpoint (``/metrics``): sessions by (tenant, state)."""
        with self._lock:
            return self._check_open().session_counts()

    def active_code_digests(
        self, tenant: str, application: str = "default", instance: str = "default"
    ) -> dict[str, str]:
        """No Vespa endpoint (``gitsync diff``/``status``): the digests of the local code
        directories of the active generation (path -> sha256), ``{}`` if none is active.
        A diff against ``live().config`` needs them to see code changes."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            row = store.get_application(app)
            if row is None:
                return {}
            return dict(self._prepared.get(store, tenant, row.session_id).code_digests)

    def serve_deploy(
        self,
        config: Mapping[str, Any],
        *,
        tenant: str = "default",
        application: str = "default",
        source: DeploySource | None = None,
    ) -> ActivateResult:
        """``PUT /api/serve/applications/``: the whole deploy config becomes a one-file
        package, prepared and activated (unlisted Serve applications are removed)."""
        text = json.dumps(config, indent=2, sort_keys=True).encode()
        return self.deploy_files(
            {SERVE_API_CONFIG_FILE: text},
            tenant=tenant,
            application=application,
            source=source or DeploySource(package.sha256_hex(text), {"via": "Serve REST"}),
        )

    def serve_delete(self, *, tenant: str = "default", application: str = "default") -> bool:
        """``DELETE /api/serve/applications/``: delete the unit; harmless when nothing is
        deployed (returns False then)."""
        try:
            self.delete_application(tenant, application)
        except NotFound:
            return False
        return True

    # -- history, rollback, expiry ---------------------------------------------------------

    def history(
        self, tenant: str, application: str = "default", instance: str = "default"
    ) -> list[HistoryEntry]:
        """No Vespa endpoint: the unit's activations, newest first (``gitsync history``)."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            return self._require_tenant(tenant).history(app)

    def rollback(
        self,
        tenant: str,
        application: str = "default",
        generation: int | None = None,
        *,
        instance: str = "default",
    ) -> ActivateResult:
        """No Vespa endpoint (Vespa rolls back by redeploying): a new session from that
        generation's package (default: the one before the active), prepared and
        activated as a new, higher generation, recorded as a rollback."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            entries = store.history(app)
            active = store.active_session_id(app)
            target = sessions.pick_rollback_target(app, entries, active, generation)
            session_id = store.create_session(
                app, self.clock(), active or 0, copy_from_history=target.generation
            )
            prepared = self.prepare(tenant, session_id, application=application, instance=instance)
            source = DeploySource(revision=target.revision, meta=dict(target.meta))
            result = self._activate(
                tenant,
                session_id,
                force=False,
                source=source,
                kind="rollback",
                rollback_of=target.generation,
            )
            return with_prepare(result, prepared)

    def generation_files(
        self, tenant: str, application: str, generation: int, instance: str = "default"
    ) -> dict[str, bytes]:
        """No Vespa endpoint (the web page): the package files a generation activated."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            files = store.history_file_data(app, generation)
            if not files and all(e.generation != generation for e in store.history(app)):
                raise NotFound(f"Generation {generation} of {app.full_string()} was not found")
            return files

    def generation_model(
        self, tenant: str, application: str, generation: int, instance: str = "default"
    ) -> model.DeployConfig:
        """No Vespa endpoint (the web page's plans): a past generation's canonical config,
        from its prepare record while the session lives, else validated again from the
        files history keeps."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            if store.prepared_json(tenant, generation) is not None:
                session = store.get_session(tenant, generation)
                if session is not None and session.app == app:
                    return self._prepared.get(store, tenant, generation).deploy_model()
        files = self.generation_files(tenant, application, generation, instance)
        return prepare_package(files, None, [], self.clock()).deploy_model()

    def _rollback_to(self, app: AppId, target: HistoryEntry) -> ActivateResult:
        return self.rollback(app.tenant, app.application, target.generation, instance=app.instance)

    def expire_sessions(self) -> list[tuple[str, int]]:
        """Vespa's SessionsMaintainer: delete every session that is not the active one
        of its application once ``max(created, changed) + lifetime`` has passed; drop
        blobs nothing refers to. Returns the (tenant, session id) pairs removed."""
        with self._lock:
            return self._check_open().expire(self.clock(), self.session_lifetime)
