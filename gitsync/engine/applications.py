"""The active applications of one engine: listing, reading, deleting, their history.

An application (a deployment unit, ``tenant.application.instance``) exists while it
has an active session. Deleting one removes it from the store in one durable
transaction, then tells the runtime driver to drop its Serve applications.
"""

from __future__ import annotations

from gitsync.config import model
from gitsync.engine.context import EngineContext
from gitsync.engine.driver import RuntimeDriver
from gitsync.engine.prepare import prepare_package
from gitsync.engine.records import AppId, ApplicationInfo, HistoryEntry
from gitsync.errors import NotFound


class Applications:
    """Reads and deletes the active applications of one engine."""

    def __init__(self, context: EngineContext, driver: RuntimeDriver) -> None:
        self._ctx = context
        self._driver = driver

    def list_active(self, tenant: str) -> list[AppId]:
        with self._ctx.lock:
            store = self._ctx.require_tenant(tenant)
            return [row.app for row in store.list_applications(tenant)]

    def get(self, app: AppId) -> ApplicationInfo:
        """404 "Unknown application id 't.a.i'" when it has no active session."""
        with self._ctx.lock:
            row = self._ctx.require_tenant(app.tenant).get_application(app)
            if row is None:
                raise NotFound(f"Unknown application id '{app.full_string()}'")
            return ApplicationInfo(app, row.session_id, row.checksum, row.activated)

    def delete(self, app: AppId) -> None:
        """404 "Unable to delete t.a.i: Not found" when it has no active session."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            if store.get_application(app) is None:
                raise NotFound(f"Unable to delete {app.full_string()}: Not found")
            store.delete_application(app, self._ctx.clock())
            self._driver.remove(app)

    def history(self, app: AppId) -> list[HistoryEntry]:
        with self._ctx.lock:
            return self._ctx.require_tenant(app.tenant).history(app)

    def generation_files(self, app: AppId, generation: int) -> dict[str, bytes]:
        """The package files a generation activated (kept after its session expires)."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            files = store.history_file_data(app, generation)
            if not files and all(e.generation != generation for e in store.history(app)):
                raise NotFound(f"Generation {generation} of {app.full_string()} was not found")
            return files

    def generation_model(self, app: AppId, generation: int) -> model.DeployConfig:
        """A past generation's canonical config: from its prepare record while the
        session lives, else validated again from the files history keeps."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            if store.prepared_json(app.tenant, generation) is not None:
                session = store.get_session(app.tenant, generation)
                if session is not None and session.app == app:
                    return self._ctx.prepared_package(app.tenant, generation).deploy_model()
        files = self.generation_files(app, generation)
        return prepare_package(files, None, [], self._ctx.clock()).deploy_model()

    def generation_plan_text(self, app: AppId, generation: int) -> str | None:
        """The plan a generation was prepared with (against the generation it replaced),
        while its session lives; None otherwise."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            session = store.get_session(app.tenant, generation)
            if session is None or session.app != app:
                return None
            return store.prepared_plan_text(app.tenant, generation)

    def code_digests(self, app: AppId) -> dict[str, str]:
        """The active generation's local code directories (path -> sha256), or ``{}``."""
        with self._ctx.lock:
            row = self._ctx.require_tenant(app.tenant).get_application(app)
            if row is None:
                return {}
            return dict(self._ctx.prepared_package(app.tenant, row.session_id).code_digests)

    def warnings(self, app: AppId) -> list[str]:
        """What prepare warned about in the active generation (keys Ray drops), or ``[]``."""
        with self._ctx.lock:
            row = self._ctx.require_tenant(app.tenant).get_application(app)
            if row is None:
                return []
            prepared = self._ctx.prepared_package(app.tenant, row.session_id)
            return [entry.message for entry in prepared.log if entry.level == "WARNING"]

    def session_counts(self) -> dict[tuple[str, str], int]:
        """Sessions by (tenant, state)."""
        with self._ctx.lock:
            return self._ctx.open_store().session_counts()
