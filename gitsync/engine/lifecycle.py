"""The session lifecycle: tenants, then create → prepare → activate, rollback, expiry.

Each step checks Vespa's rules (sessions.py) under the engine's lock, writes through
the store in one transaction, and, on activation, hands the generation to the
runtime driver while still holding the lock (so the runtime sees generation order).
"""

from __future__ import annotations

from collections.abc import Mapping

from gitsync.config import package
from gitsync.engine import health, sessions
from gitsync.engine.activation import build_activation, dry_run_result, with_prepare
from gitsync.engine.context import EngineContext
from gitsync.engine.driver import RuntimeDriver
from gitsync.engine.prepare import CheckedPackage, check_package, prepare_package
from gitsync.engine.records import (
    ActivateResult,
    AppId,
    DeploySource,
    PrepareResult,
    SessionInfo,
    SessionStatus,
)
from gitsync.engine.store import StaleActivation, Store
from gitsync.errors import BadRequest, GitsyncError, InvalidConfig, NotFound, TooManyRequests

MAX_TENANTS = 100
MAX_OPEN_SESSIONS = 64  # per tenant: sessions created through the API, not yet active


# An activation that found its session or unit changed checks again: once after a wrong
# guess (shared store), once after a lost race.
_ACTIVATION_ATTEMPTS = 3


class SessionLifecycle:
    """Tenants and sessions of one engine, from creation to activation and rollback."""

    def __init__(self, context: EngineContext, driver: RuntimeDriver) -> None:
        self._ctx = context
        self._driver = driver

    # -- tenants ---------------------------------------------------------------------

    def list_tenants(self) -> list[str]:
        with self._ctx.lock:
            return self._ctx.open_store().list_tenants()

    def get_tenant(self, tenant: str) -> None:
        with self._ctx.lock:
            self._ctx.require_tenant(tenant)

    def create_tenant(self, tenant: str) -> bool:
        sessions.check_name("tenant", tenant)
        with self._ctx.lock:
            store = self._ctx.open_store()
            known = store.list_tenants()
            if tenant not in known and len(known) >= MAX_TENANTS:
                raise BadRequest(f"Cannot create tenant '{tenant}': at most {MAX_TENANTS} tenants")
            return store.create_tenant(tenant, self._ctx.clock())

    def _check_open_sessions(self, store: Store, tenant: str) -> None:
        """Sessions not yet active cost storage: a tenant holds a bounded number."""
        counts = store.session_counts()
        open_now = sum(counts.get((tenant, s), 0) for s in ("NEW", "PREPARED"))
        if open_now >= MAX_OPEN_SESSIONS:
            raise TooManyRequests(
                f"Tenant '{tenant}' has {open_now} sessions not yet activated (the limit is "
                f"{MAX_OPEN_SESSIONS}): activate or delete some, or wait for them to expire"
            )

    def delete_tenant(self, tenant: str) -> None:
        """Refuses ``default`` and tenants with active applications (400)."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(tenant)
            if tenant == sessions.DEFAULT_TENANT:
                raise BadRequest("Deleting 'default' tenant is not allowed")
            active = store.list_applications(tenant)
            if active:
                names = ", ".join(row.app.full_string() for row in active)
                raise BadRequest(
                    f"Cannot delete tenant '{tenant}', it has active applications: [{names}]"
                )
            store.delete_tenant(tenant)
            self._ctx.prepared.drop_tenant(tenant)

    # -- sessions --------------------------------------------------------------------

    def create_from_files(
        self, app: AppId, files: Mapping[str, bytes], *, capped: bool = False
    ) -> SessionInfo:
        """A NEW session of ``app`` holding ``files`` (paths checked as archive entries);
        its ``previousActiveGeneration`` is ``app``'s active session. An uploaded
        package belongs to ``t:default:default`` until prepared (Vespa's rule)."""
        clean = package.normalize_files(files)
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            if capped:  # an API client's session; one-call deploys activate theirs at once
                self._check_open_sessions(store, app.tenant)
            previous = store.active_session_id(app) or 0
            now = self._ctx.clock()
            session_id = store.create_session(app, now, previous, files=clean)
            # What the transaction wrote: no need to read the session back.
            return SessionInfo(app.tenant, session_id, SessionStatus.NEW, app, now, now, previous)

    def create_from_application(self, app: AppId) -> SessionInfo:
        """A NEW session holding a copy of ``app``'s active package (400 if none)."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            self._check_open_sessions(store, app.tenant)
            active = store.active_session_id(app)
            if active is None:
                raise BadRequest(f"Application '{app.full_string()}' has no active session.")
            session_id = store.create_session(
                app, self._ctx.clock(), active, copy_from=(app.tenant, active)
            )
            return self._ctx.session(app.tenant, session_id)

    def get_session(self, tenant: str, session_id: int) -> SessionInfo:
        with self._ctx.lock:
            return self._ctx.tenant_session(tenant, session_id)[1]

    def prepare(
        self, app: AppId, session_id: int, checked: CheckedPackage | None = None
    ) -> PrepareResult:
        """Load and validate the package, check Serve names and route prefixes against
        the tenant's other units, compute the change actions against the active
        generation. A failed prepare deletes the session (Vespa's rule).

        The package is validated once, before the lock (``checked``, when the caller
        already did it); under the lock prepare carries that result on if the stored
        files are the ones validated (their digest), so a large valid package never
        holds the lock while it is parsed."""
        tenant = app.tenant
        if checked is None:
            checked = self._check_stored(app, session_id)
        with self._ctx.lock:
            store, info = self._ctx.tenant_session(tenant, session_id)
            sessions.check_can_prepare(info)
            files = store.session_file_data(tenant, session_id)
            live = store.active_session_id(app)  # not its config: the prepared cache has it
            live_prepared = self._ctx.prepared_package(tenant, live) if live else None
            store.note_unit(app, live, live_prepared.app_digests if live_prepared else {})
            others = store.serve_apps_of_tenant(tenant, exclude=app)
            try:
                prepared = prepare_package(
                    files,
                    live_prepared,
                    others,
                    self._ctx.clock(),
                    self._ctx.unknown_keys,
                    checked,
                )
            except Exception:  # any failed prepare deletes the session, as in Vespa
                store.delete_session(tenant, session_id)
                self._ctx.prepared.drop(tenant, session_id)
                raise
            now = self._ctx.clock()
            store.save_prepared(tenant, session_id, app, *prepared.to_record(), now)
            self._ctx.prepared.put(tenant, session_id, prepared, now)
            for entry in prepared.log:
                if entry.level == "WARNING":  # Ray's contract: accepted, and said out loud
                    import logging  # rare, and no light import for a push hook

                    logging.getLogger("gitsync.engine").warning(
                        "session %s of %s: %s", session_id, app.full_string(), entry.message
                    )
            return PrepareResult(
                # What the transaction wrote: no need to read the session back.
                session=info._replace(status=SessionStatus.PREPARED, app=app, changed=now),
                log=prepared.log,
                actions=prepared.actions,
            )

    def _check_stored(self, app: AppId, session_id: int) -> CheckedPackage:
        """Validate a session's stored files outside the lock; an invalid package
        deletes the session (a failed prepare does, in Vespa)."""
        tenant = app.tenant
        with self._ctx.lock:
            store, info = self._ctx.tenant_session(tenant, session_id)
            sessions.check_can_prepare(info)
            files = store.session_file_data(tenant, session_id)
        try:
            return check_package(files, self._ctx.unknown_keys)  # reads go on meanwhile
        except InvalidConfig:
            with self._ctx.lock:
                store.delete_session(tenant, session_id)
                self._ctx.prepared.drop(tenant, session_id)
            raise

    def get_prepared(self, tenant: str, session_id: int) -> SessionInfo:
        """200 only when PREPARED; unknown: "Remote session N for 't' was not found"."""
        with self._ctx.lock:
            self._ctx.require_tenant(tenant)
            try:
                info = self._ctx.session(tenant, session_id)
            except NotFound as exc:
                raise NotFound(f"Remote session {session_id} for '{tenant}' was not found") from exc
            sessions.check_get_prepared(info)
            return info

    def activate(
        self,
        tenant: str,
        session_id: int,
        *,
        force: bool,
        source: DeploySource | None,
        kind: str = "deploy",
        rollback_of: int | None = None,
    ) -> ActivateResult:
        """One durable transaction (this session ACTIVE, the previous one DEACTIVATED,
        the live config replaced, removed Serve applications dropped, a history
        record), then the runtime driver. Re-activating the active session is a
        no-op; a stale or older session is a 409 (sessions.check_activation)."""
        args = (tenant, session_id, force, source, kind, rollback_of)
        for _ in range(_ACTIVATION_ATTEMPTS - 1):
            try:
                return self._activate_once(*args)
            except StaleActivation:
                # Another engine on the same store wrote this session or unit since we
                # looked, or the engine's guess of them was wrong: check again from a
                # fresh read (a lost race is a 409 then).
                pass
        return self._activate_once(*args)

    def _activate_once(
        self,
        tenant: str,
        session_id: int,
        force: bool,
        source: DeploySource | None,
        kind: str,
        rollback_of: int | None,
    ) -> ActivateResult:
        with self._ctx.lock:
            store = self._ctx.open_store()
            sessions.check_name("tenant", tenant)
            # SQLite: the checks read under the transaction's write lock, the writes
            # follow in it. PostgreSQL: the write verifies what the checks relied on.
            with store.activation(tenant, session_id) as tx:
                info = self._ctx.found(tenant, session_id, tx.session)
                active = tx.active
                try:
                    log = sessions.check_activation(info, active, force, self._ctx.clock())
                except GitsyncError as exc:
                    if tx.guessed:  # refused on a guess: check what is stored
                        raise StaleActivation(str(exc)) from exc
                    raise
                prepared = self._ctx.prepared_package(tenant, session_id, read=info)
                changed = info.status is not SessionStatus.ACTIVE
                if changed:
                    pending = health.PENDING if self._driver.gated else ""
                    activation = build_activation(
                        info,
                        active,
                        self._ctx.clock(),
                        prepared,
                        kind,
                        source,
                        rollback_of,
                        pending,
                    )
                    tx.write(activation)
                    # What the transaction wrote: no need to read the session back, and
                    # the cached package stays current (the next prepare diffs against it).
                    info = info._replace(status=SessionStatus.ACTIVE, changed=activation.now)
                    self._ctx.prepared.restamp(tenant, session_id, activation.now)
            result = ActivateResult(
                session=info,
                app=info.app,
                generation=session_id,
                previous_active_generation=info.previous_active_generation,
                checksum=prepared.checksum,
                log=log,
                actions=prepared.actions,
            )
            if changed:
                self._driver.push(
                    info.app, session_id, prepared, health.gated_apps(prepared.actions)
                )
        return result

    def deploy_files(
        self,
        app: AppId,
        files: Mapping[str, bytes],
        *,
        force: bool,
        dry_run: bool,
        source: DeploySource | None,
    ) -> ActivateResult:
        """Create + prepare (+ activate unless ``dry_run``) in one call, under the lock.
        A dry run reports ``activated`` False (we fix Vespa's quirk of saying True)."""
        clean = package.normalize_files(files)
        # Validated once, outside the lock: neither an invalid nor a large valid
        # package holds it while parsed; prepare carries the result on.
        checked = check_package(clean, self._ctx.unknown_keys)
        with self._ctx.lock:
            info = self.create_from_files(app, clean)
            prepared = self.prepare(app, info.session_id, checked)
            if dry_run:
                stored = self._ctx.prepared_package(app.tenant, info.session_id)
                return dry_run_result(prepared, stored)
            result = self.activate(app.tenant, info.session_id, force=force, source=source)
            return with_prepare(result, prepared)

    def rollback(self, app: AppId, generation: int | None) -> ActivateResult:
        """A new session from ``generation``'s package (default: the one before the
        active), prepared and activated as a new generation, recorded as a rollback.

        The target's files are validated before the lock; under it the target is picked
        again (a deploy may have come meanwhile) and prepare carries the result on only
        if it is still the same package."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            active = store.active_session_id(app)
            target = sessions.pick_rollback_target(app, store.history(app), active, generation)
            files = store.history_file_data(app, target.generation)
        checked = check_package(files, self._ctx.unknown_keys)
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            entries = store.history(app)
            active = store.active_session_id(app)
            target = sessions.pick_rollback_target(app, entries, active, generation)
            session_id = store.create_session(
                app, self._ctx.clock(), active or 0, copy_from_history=target.generation
            )
            prepared = self.prepare(app, session_id, checked)
            result = self.activate(
                app.tenant,
                session_id,
                force=False,
                source=DeploySource(revision=target.revision, meta=dict(target.meta)),
                kind="rollback",
                rollback_of=target.generation,
            )
            return with_prepare(result, prepared)

    def expire(self, lifetime: float) -> list[tuple[str, int]]:
        """Delete every session but its application's active one once ``max(created,
        changed) + lifetime`` has passed, and blobs nothing refers to."""
        with self._ctx.lock:
            return self._ctx.open_store().expire(self._ctx.clock(), lifetime)
