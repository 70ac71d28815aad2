"""The engine's side of a runtime: handing generations over, the health gate's
verdicts, automatic rollback, re-apply for self-heal, waiting for a verdict.

A mixin of EngineCore (core.py), kept apart so the session lifecycle stays readable.
"""

from __future__ import annotations

import logging
import threading
import time

from gitsync.engine import health, sessions
from gitsync.engine.activation import PreparedCache
from gitsync.engine.prepare import PreparedPackage
from gitsync.engine.records import ActivateResult, AppId, HistoryEntry
from gitsync.engine.runtime import GateOutcome, ManagedRuntime, Runtime, UnitDeploy
from gitsync.engine.store import Store
from gitsync.errors import GitsyncError

log = logging.getLogger("gitsync.engine")


class RuntimeDriver:
    """Needs from the engine: its lock, store, prepared cache, runtime and settings."""

    runtime: Runtime
    auto_rollback: bool
    _lock: threading.RLock
    _settled: threading.Condition
    _store: Store
    _prepared: PreparedCache

    def _is_open(self) -> bool:
        raise NotImplementedError

    def _require_tenant(self, tenant: str) -> Store:
        raise NotImplementedError

    def _push(
        self,
        app: AppId,
        generation: int,
        prepared: PreparedPackage,
        gate: tuple[str, ...] | None,
    ) -> None:
        """Hand a generation to the runtime; a managed one also gets its code files."""
        if not isinstance(self.runtime, ManagedRuntime):
            self.runtime.apply(app, prepared.config)
            return
        code: dict[str, bytes] = {}
        if prepared.code_digests:
            roots = [p.strip("/").removeprefix("./") for p in prepared.code_digests]
            files = self._store.session_file_data(app.tenant, generation)
            code = {
                name: data
                for name, data in files.items()
                if any(root in (".", "") or name.startswith(root + "/") for root in roots)
            }
        self.runtime.deploy(UnitDeploy(app, generation, prepared.config, code, gate))

    def _resync_runtime(self) -> None:
        """At open: hand every active generation to the managed runtime (no gate), so
        its first PUT carries all units."""
        for tenant in self._store.list_tenants():
            for row in self._store.list_applications(tenant):
                prepared = self._prepared.get(self._store, tenant, row.session_id)
                self._push(row.app, row.session_id, prepared, None)

    def _on_gate_outcome(self, outcome: GateOutcome) -> None:
        """The runtime's verdict on a generation (from the runtime's thread)."""
        with self._lock:
            if not self._is_open():
                return
            app = outcome.app
            verdict = health.HEALTHY if outcome.healthy else health.FAILED
            self._store.set_health(app, outcome.generation, verdict, outcome.message)
            try:
                if not outcome.healthy and self.auto_rollback:
                    self._auto_rollback(app, outcome.generation)
            finally:
                self._settled.notify_all()

    def _auto_rollback(self, app: AppId, failed: int) -> None:
        entries = self._store.history(app)
        target = health.rollback_target(entries, failed, self._store.active_session_id(app))
        if target is None:
            log.warning("generation %d of %s failed; no automatic rollback", failed, app)
            return
        try:
            result = self._rollback_to(app, target)
        except GitsyncError as exc:
            log.error("automatic rollback of %s to %d failed: %s", app, target.generation, exc)
            return
        log.warning(
            "generation %d of %s failed its health gate: rolled back to generation %d "
            "as generation %d",
            failed,
            app.full_string(),
            target.generation,
            result.generation,
        )

    def _rollback_to(self, app: AppId, target: HistoryEntry) -> ActivateResult:
        raise NotImplementedError  # Engine (engine.py) provides rollback

    def reapply(self, tenant: str, application: str = "default", instance: str = "default") -> int:
        """No Vespa endpoint (``--self-heal``): hand the active generation to the runtime
        again, e.g. after a ``serve deploy`` bypassed the engine. Returns the generation
        (0 when nothing is active)."""
        app = sessions.app_id(tenant, application, instance)
        with self._lock:
            store = self._require_tenant(tenant)
            row = store.get_application(app)
            if row is None:
                return 0
            prepared = self._prepared.get(store, tenant, row.session_id)
            self._push(app, row.session_id, prepared, None)
            return row.session_id

    def wait_settled(
        self,
        tenant: str,
        generation: int,
        timeout: float,
        *,
        application: str = "default",
        instance: str = "default",
    ) -> HistoryEntry | None:
        """Block until the health gate has decided on ``generation`` (its history entry
        is no longer "pending") or ``timeout`` passes; the entry, None if unknown."""
        app = sessions.app_id(tenant, application, instance)
        deadline = time.monotonic() + timeout
        with self._settled:
            while True:
                entry = next(
                    (
                        e
                        for e in self._require_tenant(tenant).history(app)
                        if e.generation == generation
                    ),
                    None,
                )
                left = deadline - time.monotonic()
                if entry is None or entry.health != health.PENDING or left <= 0:
                    return entry
                self._settled.wait(left)
