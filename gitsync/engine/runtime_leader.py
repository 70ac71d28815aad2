"""The background task by which one engine of several drives the runtime: it holds
the ``runtime`` lease (runtime_lease.py), takes over, steps down, and follows the
store.

Every ``poll`` seconds it reads the store's state version (one small read); when it
moved, it reads the active generation of every unit. The holder hands each new one to
the runtime with its gate (recording it under the lease first) and removes the units
that were deleted; the other engines only let their runtime know the active configs
(``adopt``), so their live state and drift compare Ray with the right generation.
Activations made on this engine reach it at once through ``handle``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from gitsync.engine.context import EngineContext
from gitsync.engine.records import AppId, JsonDict
from gitsync.engine.runtime import ManagedRuntime, UnitDeploy
from gitsync.engine.runtime_lease import RuntimeLease
from gitsync.errors import GitsyncError

log = logging.getLogger("gitsync.engine")

#: How often every engine looks for activations made elsewhere (one small read).
POLL_S = 0.1


class UnitSource(Protocol):
    def unit_for(self, app: AppId, generation: int, gate: bool) -> UnitDeploy:
        """``generation`` of ``app`` as the runtime receives it; with ``gate``, gated
        when its health verdict is still pending."""
        ...


class RuntimeLeader:
    """Drives ``runtime`` while this engine holds the lease; only reads it otherwise."""

    def __init__(
        self,
        context: EngineContext,
        runtime: ManagedRuntime,
        units: UnitSource,
        lease: RuntimeLease,
        *,
        poll: float = POLL_S,
    ) -> None:
        self._ctx = context
        self._runtime = runtime
        self._units = units
        self.lease = lease
        self.poll = poll
        self.driving = False
        self._epoch: int | None = None  # the epoch this engine took over at
        self._known: dict[AppId, int] = {}  # what the runtime was given, per unit
        self._seen: int | None = None  # the store's state version last followed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gitsync-runtime-lease", daemon=True)

    def start(self) -> None:
        self._runtime.set_driving(False)
        self._thread.start()

    def close(self) -> None:
        """Stop, and hand the lease back so another engine drives at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with self._ctx.lock:
            if self.driving:
                self._step_down("this engine stops")
        self.lease.release()

    # -- called by the driver, under the engine lock -----------------------------------

    def handle(self, unit: UnitDeploy) -> None:
        """An activation (or a removal: ``config`` None) made on this engine."""
        if self.driving:
            self._send(unit)
        else:
            self._runtime.adopt(unit._replace(gate=None))
            self._remember(unit)

    def may_decide(self) -> bool:
        """Whether a gate verdict heard now may be acted on (this engine drives)."""
        return self.driving and self.lease.held()

    def status(self) -> JsonDict:
        """Who drives the runtime: the lease's holder and epoch, as the store has them."""
        row = self.lease.current()
        if row is None or row.expires < time.time():
            return {"holder": None, "thisEngine": False}
        return {
            "holder": row.holder,
            "epoch": row.epoch,
            "expiresInSeconds": round(max(0.0, row.expires - time.time()), 1),
            "thisEngine": row.holder == self.lease.holder and self.driving,
        }

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        next_renew = 0.0
        failure = ""  # the last failure logged: an outage is logged once, not per poll
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_renew:
                    next_renew = now + self.lease.ttl / 3
                    epoch = self.lease.renew()
                    self._renewed(epoch)
                    if epoch is None:  # try again as soon as the holder's claim runs out
                        next_renew = min(next_renew, now + self.lease.free_in() + self.poll)
                elif self.driving and not self.lease.held():
                    with self._ctx.lock:
                        self._step_down("its lease ran out before it could renew it")
                self._follow()
                failure = ""
            except GitsyncError as exc:
                if exc.message != failure:
                    log.warning("runtime lease: %s", exc.message)
                failure = exc.message
            except Exception:  # the thread must live on: the next pass tries again
                log.exception("runtime lease: unexpected failure")
            self._stop.wait(self.poll)

    def _renewed(self, epoch: int | None) -> None:
        with self._ctx.lock:
            if self.driving and epoch != self._epoch:
                self._step_down("another engine holds the runtime lease")
            if epoch is not None and not self.driving:
                self._take_over(epoch)

    def _take_over(self, epoch: int) -> None:
        """Resume from the store: adopt what the last driver recorded as sent (gating
        it if its verdict is pending), send what it did not, remove deleted units."""
        store = self._ctx.store
        self._epoch = epoch  # a failed record during the take-over clears it
        try:
            self._seen = store.version()
            active = store.active_generations()
            sent = store.sent_generations()
            for app in self._known.keys() - active.keys():  # deleted before it noticed
                self._runtime.adopt(UnitDeploy(app, 0, None))
            self._known = {}
            for app, generation in sorted(active.items(), key=_order):
                unit = self._units.unit_for(app, generation, True)
                if sent.get(app, (0, 0))[0] == generation:
                    self._runtime.adopt(unit)
                    self._remember(unit)
                elif self._epoch == epoch:
                    self._send(unit)
            for app, (generation, _) in sorted(sent.items(), key=_order):
                if generation and app not in active and self._epoch == epoch:
                    self._send(UnitDeploy(app, 0, None))
        except BaseException:
            self._step_down("taking over failed")
            raise
        if self._epoch == epoch:
            self.driving = True
            self._runtime.set_driving(True)
            log.warning("this engine drives the runtime now (lease epoch %d)", epoch)

    def _step_down(self, why: str) -> None:
        if self.driving:
            log.warning("this engine stops driving the runtime: %s", why)
        self.driving, self._epoch = False, None
        self._runtime.set_driving(False)

    def _follow(self) -> None:
        """When the store changed: the holder sends new generations and removals; the
        others let their runtime know the active configs."""
        store = self._ctx.store
        version = store.version()
        if version == self._seen:
            return
        with self._ctx.lock:
            if not self._ctx.is_open:
                return
            self._seen = version
            active = store.active_generations()
            for app, generation in sorted(active.items(), key=_order):
                if self._known.get(app) != generation:
                    self.handle(self._units.unit_for(app, generation, True))
            for app in sorted(self._known.keys() - active.keys(), key=lambda a: _order((a, 0))):
                self.handle(UnitDeploy(app, 0, None))

    def _send(self, unit: UnitDeploy) -> None:
        """Record under the lease, then hand over; a lost lease sends nothing."""
        if not self.lease.record_sent(unit.app, unit.generation):
            self._step_down("the runtime lease is no longer this engine's")
            self._runtime.adopt(unit._replace(gate=None))
            self._remember(unit)
            return
        self._runtime.deploy(unit)
        self._remember(unit)
        what = f"generation {unit.generation}" if unit.config is not None else "removal"
        log.info(
            "%s of %s goes to the runtime (lease epoch %s)",
            what,
            unit.app.full_string(),
            self._epoch,
        )

    def _remember(self, unit: UnitDeploy) -> None:
        if unit.config is None:
            self._known.pop(unit.app, None)
        else:
            self._known[unit.app] = unit.generation


def _order(item: tuple[AppId, object]) -> tuple[str, str, str]:
    app = item[0]
    return (app.tenant, app.application, app.instance)
