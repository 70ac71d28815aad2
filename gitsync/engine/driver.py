"""The engine's side of a runtime: handing generations over, the health gate's
verdicts, automatic rollback, re-apply for self-heal, waiting for a verdict, and
reading live state and drift back.

A plain runtime (``NoneRuntime``) only receives each activated config. A managed one
(Ray) also gets the generation and its code, and reports through a listener whether
the generation became healthy; a failed one is marked failed in history and, with
automatic rollback on, the generation active right before it is re-applied as a new
one (``health.rollback_target``).

When several engines share a store, a managed runtime is driven by one of them, the
holder of the ``runtime`` lease (``runtime_leader.py``): the others hand it nothing
and act on no verdict; their runtime only reads.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gitsync.engine import health
from gitsync.engine.context import EngineContext
from gitsync.engine.prepare import PreparedPackage
from gitsync.engine.records import ActivateResult, AppId, HistoryEntry, JsonDict, ServeState
from gitsync.engine.runtime import GateOutcome, ManagedRuntime, Runtime, UnitDeploy
from gitsync.errors import GitsyncError

if TYPE_CHECKING:
    import logging

    from gitsync.engine.runtime_leader import RuntimeLeader


def _log() -> logging.Logger:
    """The engine's logger, on the managed-runtime path only (logging is no light import)."""
    import logging

    return logging.getLogger("gitsync.engine")


#: Re-applies a good generation as a new one (the session lifecycle's rollback).
RollbackTo = Callable[[AppId, HistoryEntry], ActivateResult]


class RuntimeDriver:
    """Drives one runtime for the engine; owns the health gate and automatic rollback."""

    def __init__(
        self,
        context: EngineContext,
        runtime: Runtime,
        *,
        auto_rollback: bool,
        rollback_to: RollbackTo,
    ) -> None:
        self._ctx = context
        self.runtime = runtime
        # Asked on every activation; a check against a runtime-checkable Protocol costs
        # tens of µs, and the runtime does not change.
        self._managed: ManagedRuntime | None = (
            runtime if isinstance(runtime, ManagedRuntime) else None
        )
        self.auto_rollback = auto_rollback
        self._rollback_to = rollback_to
        self._settled = threading.Condition(context.lock)  # notified on each gate verdict
        self.leader: RuntimeLeader | None = None  # with a managed runtime on a shared store

    @property
    def gated(self) -> bool:
        """Whether activations wait for a health verdict (a managed runtime)."""
        return self._managed is not None

    def start(self) -> None:
        """At open: listen for gate verdicts and hand every active generation to a
        managed runtime (no gate), so its first PUT carries all units."""
        if not isinstance(self.runtime, ManagedRuntime):
            return
        self.runtime.set_listener(self._on_gate_outcome)
        store = self._ctx.store
        if store.location.shared:
            # Only a managed runtime on a shared store needs these (and uuid, socket):
            # a push hook's embedded engine imports none of them.
            from gitsync.engine.runtime_leader import RuntimeLeader
            from gitsync.engine.runtime_lease import RuntimeLease, engine_identity

            lease = RuntimeLease(store, engine_identity())
            self.leader = RuntimeLeader(self._ctx, self.runtime, self, lease)
            self.leader.start()  # it adopts or sends the active generations
            return
        for tenant in store.list_tenants():
            for row in store.list_applications(tenant):
                prepared = self._ctx.prepared_package(tenant, row.session_id)
                self.push(row.app, row.session_id, prepared, None)

    def close(self) -> None:
        """Close the runtime; called outside the lock (its thread may wait for it)."""
        try:
            if self.leader is not None:
                self.leader.close()
        finally:
            self.runtime.close()

    def push(
        self,
        app: AppId,
        generation: int,
        prepared: PreparedPackage,
        gate: tuple[str, ...] | None,
    ) -> None:
        """Hand a generation to the runtime; a managed one also gets its code files.
        Called under the lock, so the runtime sees activations in generation order."""
        if self._managed is None:
            self.runtime.apply(app, prepared.config)
            return
        unit = self._unit(app, generation, prepared, gate)
        if self.leader is not None:
            self.leader.handle(unit)
        else:
            self._managed.deploy(unit)

    def unit_for(self, app: AppId, generation: int, gate: bool) -> UnitDeploy:
        """For the runtime leader: ``generation`` of ``app`` with its code, gated (with
        ``gate``) while its verdict is pending."""
        prepared = self._ctx.prepared_package(app.tenant, generation)
        gated: tuple[str, ...] | None = None
        if gate:
            entries = self._ctx.store.history(app)
            entry = next((e for e in entries if e.generation == generation), None)
            if entry is not None and entry.health == health.PENDING:
                gated = health.gated_apps(prepared.actions)
        return self._unit(app, generation, prepared, gated)

    def _unit(
        self,
        app: AppId,
        generation: int,
        prepared: PreparedPackage,
        gate: tuple[str, ...] | None,
    ) -> UnitDeploy:
        code: dict[str, bytes] = {}
        if prepared.code_digests:
            roots = [p.strip("/").removeprefix("./") for p in prepared.code_digests]
            files = self._ctx.store.session_file_data(app.tenant, generation)
            code = {
                name: data
                for name, data in files.items()
                if any(root in (".", "") or name.startswith(root + "/") for root in roots)
            }
        return UnitDeploy(app, generation, prepared.config, code, gate)

    def remove(self, app: AppId) -> None:
        """The unit was deleted: the runtime drops its applications."""
        if self.leader is not None:
            self.leader.handle(UnitDeploy(app, 0, None))
        elif isinstance(self.runtime, ManagedRuntime):
            self.runtime.deploy(UnitDeploy(app, 0, None))
        else:
            self.runtime.apply(app, None)

    def _on_gate_outcome(self, outcome: GateOutcome) -> None:
        """The runtime's verdict on a generation (from the runtime's thread)."""
        with self._ctx.lock:
            if not self._ctx.is_open:
                return
            if self.leader is not None and not self.leader.may_decide():
                return  # no longer the driver: the engine that drives now gates it
            app = outcome.app
            verdict = health.HEALTHY if outcome.healthy else health.FAILED
            self._ctx.store.set_health(app, outcome.generation, verdict, outcome.message)
            try:
                if not outcome.healthy and self.auto_rollback:
                    self._auto_rollback(app, outcome.generation)
            finally:
                self._settled.notify_all()

    def _auto_rollback(self, app: AppId, failed: int) -> None:
        store = self._ctx.store
        session = store.get_session(app.tenant, failed)
        previous = session.previous_active_generation if session is not None else 0
        decision = health.rollback_target(
            store.history(app), failed, store.active_session_id(app), previous
        )
        target = decision.target
        if target is None:
            if decision.reason:
                self._report_no_rollback(app, failed, decision.reason)
            return
        try:
            result = self._rollback_to(app, target)
        except GitsyncError as exc:
            _log().error("automatic rollback of %s to %d failed: %s", app, target.generation, exc)
            return
        _log().warning(
            "generation %d of %s failed its health gate: rolled back to generation %d "
            "as generation %d",
            failed,
            app.full_string(),
            target.generation,
            result.generation,
        )

    def _report_no_rollback(self, app: AppId, failed: int, reason: str) -> None:
        """Stop and say why, in the log and in the failed generation's history entry."""
        store = self._ctx.store
        entry = next((e for e in store.history(app) if e.generation == failed), None)
        message = entry.health_message if entry is not None else ""
        store.set_health(app, failed, health.FAILED, f"{message}\n{reason}".strip())
        _log().warning("generation %d of %s failed; %s", failed, app.full_string(), reason)

    def reapply(self, app: AppId) -> int:
        """Hand the active generation to the runtime again, e.g. after a ``serve
        deploy`` bypassed the engine. The generation; 0 when nothing is active."""
        with self._ctx.lock:
            row = self._ctx.require_tenant(app.tenant).get_application(app)
            if row is None:
                return 0
            prepared = self._ctx.prepared_package(app.tenant, row.session_id)
            self.push(app, row.session_id, prepared, None)
            return row.session_id

    def wait_settled(self, app: AppId, generation: int, timeout: float) -> HistoryEntry | None:
        """Block until the gate has decided on ``generation`` (its history entry is
        no longer "pending") or ``timeout`` passes; the entry, None if unknown."""
        deadline = time.monotonic() + timeout
        with self._settled:
            while True:
                entries = self._ctx.require_tenant(app.tenant).history(app)
                entry = next((e for e in entries if e.generation == generation), None)
                left = deadline - time.monotonic()
                if entry is None or entry.health != health.PENDING or left <= 0:
                    return entry
                # Another engine may drive the runtime: its verdict arrives by the store.
                self._settled.wait(left if self.leader is None else min(left, 0.2))

    def live(self, app: AppId) -> ServeState:
        """The active config with the runtime's live state (asked outside the lock)."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(app.tenant)
            row = store.get_application(app)
            deployed = store.deployed_apps(app)
        apps = self.runtime.live(app, deployed) if row is not None else []
        config = json.loads(row.config_json) if row is not None else None
        generation = row.session_id if row is not None else 0
        drift: list[str] = []
        error: str | None = None
        details: JsonDict | None = None
        if isinstance(self.runtime, ManagedRuntime):
            drift = self.runtime.drift(app) if row is not None else []
            error = self.runtime.error()
            details = self.runtime.instance()
        return ServeState(app, generation, config, apps, self.runtime.name, drift, error, details)

    def driver_status(self) -> JsonDict | None:
        """Which engine drives a managed runtime (None: the runtime is not managed)."""
        if not isinstance(self.runtime, ManagedRuntime):
            return None
        if self.leader is None:
            return {"holder": "this engine (embedded store)", "thisEngine": True}
        return self.leader.status()

    def drift(self, app: AppId) -> list[str]:
        """How the runtime's config differs from the active generation; empty when in
        sync, unknown, or the runtime is not managed."""
        with self._ctx.lock:
            active = self._ctx.require_tenant(app.tenant).get_application(app) is not None
        if not active or not isinstance(self.runtime, ManagedRuntime):
            return []
        return self.runtime.drift(app)
