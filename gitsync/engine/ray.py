"""The Ray runtime: the engine's activations go to a real Ray cluster.

``deploy`` (called under the engine lock) only records the unit's config, rewritten
for Ray (``ray_code``), and wakes a background thread. That thread uploads the code
zips Ray lacks, PUTs the union of all units to ``/api/serve/applications/``, polls the
GET with backoff, keeps the last answer for ``live``/``drift``, and runs the health
gate: once the changed applications are RUNNING with the new config, or one of them
is DEPLOY_FAILED/UNHEALTHY, or the timeout passes, the listener hears the verdict.
When the last unit goes, the thread sends Ray's own DELETE instead (``serve.shutdown``:
the controller and proxies stop, so the next deploy's ports and gRPC options apply).
Nothing here ever blocks the engine on Ray: failures are reported and retried.

When several engines share a store, only the one holding the ``runtime`` lease drives
Ray; the others keep a runtime that only reads (``set_driving(False)``): it learns the
active configs by ``adopt`` and polls Ray's GET for live state and drift, but never
PUTs, DELETEs or gates. A new driver adopts what the old one recorded as sent, gates
it if its verdict is still due, and sends it only if Ray turns out not to run it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gitsync.engine import ray_code, ray_gate, ray_live
from gitsync.engine.ray_client import Backoff, RayClient
from gitsync.engine.ray_gate import SETTLE_S, Gate
from gitsync.engine.records import AppId, AppLive, DeployedApp, JsonDict
from gitsync.engine.runtime import GateListener, GateOutcome, UnitDeploy
from gitsync.errors import RuntimeUnavailable

log = logging.getLogger("gitsync.engine.ray")


class RayRuntime:
    """Drives the Serve REST API of the Ray dashboard at ``address``."""

    name = "ray"

    def __init__(
        self,
        address: str,
        *,
        health_timeout: float = 120.0,
        poll_interval: float = 2.0,
        gate_poll_interval: float = 0.1,
        max_backoff: float = 10.0,
    ) -> None:
        self._client = RayClient(address.rstrip("/"))
        self.address = self._client.address  # credentials redacted
        self.health_timeout = health_timeout
        self.poll_interval = poll_interval
        self.gate_poll_interval = gate_poll_interval
        self._cond = threading.Condition()
        self._units: dict[AppId, ray_code.RayConfig] = {}
        self._gates: dict[AppId, Gate] = {}
        self._version = 0
        self._sent_version = 0
        self._shutdown_version = 0  # a version at which Ray's DELETE was asked for
        self._last_put_done = 0.0
        self._ray_state: JsonDict | None = None
        self._ray_state_time = 0.0
        self._error: str | None = None
        self._listener: GateListener | None = None
        self._stop = False
        self._driving = True  # False: read Ray, never change it (another engine drives)
        self._driving_since = 0.0
        self._unverified: set[AppId] = set()  # adopted units Ray may not run yet
        self._backoff = Backoff(0.2, max_backoff)
        self._thread = threading.Thread(target=self._run, name="gitsync-ray", daemon=True)
        self._thread.start()

    # -- the Runtime protocol (called by the engine) ----------------------------------

    def apply(self, app: AppId, config: Mapping[str, Any] | None) -> None:
        self.deploy(UnitDeploy(app, 0, None if config is None else dict(config)))

    def deploy(self, unit: UnitDeploy) -> None:
        rewritten = None if unit.config is None else ray_code.for_ray(unit.config, unit.code)
        with self._cond:
            self._version += 1
            if rewritten is None:
                self._units.pop(unit.app, None)
                self._gates.pop(unit.app, None)
                if not self._units:
                    self._shutdown_version = self._version
            else:
                self._units[unit.app] = rewritten
                if unit.gate is not None:
                    self._gates[unit.app] = Gate(
                        unit.generation, unit.gate, rewritten.config, self._version
                    )
            self._cond.notify_all()

    def adopt(self, unit: UnitDeploy) -> None:
        """Know ``unit`` as already sent to Ray (by this engine or the driver before it):
        no PUT for it; its gate, if any, watches Ray from now on. While driving, a
        unit Ray turns out not to run is sent after all. ``config`` None forgets it."""
        rewritten = None if unit.config is None else ray_code.for_ray(unit.config, unit.code)
        with self._cond:
            self._gates.pop(unit.app, None)
            if rewritten is None:
                self._units.pop(unit.app, None)
                self._unverified.discard(unit.app)
                return
            self._units[unit.app] = rewritten
            self._unverified.add(unit.app)
            if unit.gate is not None:
                gate = Gate(unit.generation, unit.gate, rewritten.config, self._sent_version)
                gate.put_done = time.monotonic()
                gate.deadline = gate.put_done + self.health_timeout
                self._gates[unit.app] = gate
            self._cond.notify_all()

    def set_driving(self, driving: bool) -> None:
        """Drive Ray (send, gate) or only read it. Stepping down drops what was not
        sent yet and the gates: the next driver resumes from the store."""
        with self._cond:
            self._driving = driving
            self._driving_since = time.monotonic()
            if not driving:
                self._sent_version = self._version
                self._shutdown_version = 0
                self._gates.clear()
            self._cond.notify_all()

    def shutdown(self) -> None:
        """Ask for Ray's own DELETE (``serve.shutdown``) when no unit is left, even if
        none was active here (``serve shutdown`` against gitsync must leave Ray as
        ``serve shutdown`` against Ray would)."""
        with self._cond:
            if self._units or not self._driving:
                return
            self._version += 1
            self._shutdown_version = self._version
            self._cond.notify_all()

    def set_listener(self, listener: GateListener) -> None:
        with self._cond:
            self._listener = listener

    def live(self, app: AppId, deployed: Sequence[DeployedApp]) -> list[AppLive]:
        with self._cond:
            state, error = self._ray_state, self._error
            unit = self._units.get(app)
            # Read-your-writes: until Ray answers after the PUT that carries the unit's
            # config (and its control loop had time to act), Ray's answer is not news.
            fresh = not self._pending() and (self._ray_state_time >= self._last_put_done + SETTLE_S)
            if not self._driving and unit is not None and state is not None:  # until it runs
                fresh = not ray_live.drift(unit.config, state, self._other_names(app))
        if state is None and error is None:
            error = "Waiting for Ray's first answer."
        sent = unit.config if unit else None
        return ray_live.unit_live(state, deployed, sent, error, fresh=fresh)

    def instance(self) -> JsonDict | None:
        """Ray's instance-level details (controller, proxies, start-only options as
        Serve runs them, target groups) from its last answer; None before one."""
        with self._cond:
            state = self._ray_state
        return None if state is None else ray_live.instance_fields(state)

    def drift(self, app: AppId) -> list[str]:
        with self._cond:
            unit = self._units.get(app)
            fresh = self._ray_state_time > self._last_put_done
            if unit is None or self._ray_state is None or self._pending() or not fresh:
                return []
            return ray_live.drift(unit.config, self._ray_state, self._other_names(app))

    def _other_names(self, app: AppId) -> list[str]:
        return ray_live.other_names({a: u.config for a, u in self._units.items()}, app)

    def error(self) -> str | None:
        with self._cond:
            return self._error

    def sent_config(self, app: AppId) -> JsonDict | None:
        """The unit's config as last handed to Ray (code paths as ``gcs://`` URIs)."""
        with self._cond:
            unit = self._units.get(app)
            return None if unit is None else unit.config

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=30)
        self._client.close()

    # -- the background thread ------------------------------------------------------------

    def _pending(self) -> bool:
        return self._sent_version != self._version

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                work = None
                shutdown = False
                if self._pending() and self._driving:
                    configs = {app: unit.config for app, unit in self._units.items()}
                    bundles = {n: d for u in self._units.values() for n, d in u.bundles.items()}
                    work = (self._version, ray_live.merge_units(configs), bundles)
                    shutdown = not self._units and self._shutdown_version > self._sent_version
            try:
                if work is not None and shutdown:
                    self._shut_down(work[0])
                elif work is not None:
                    self._push(*work)
                self._poll()
            except RuntimeUnavailable as exc:
                self._failed(exc.message)
                continue
            self._verify_adopted()
            for outcome in self._decide():
                self._notify(outcome)
            with self._cond:
                if not self._stop and not (self._pending() and self._driving):
                    self._cond.wait(self.gate_poll_interval if self._gates else self.poll_interval)

    def _push(self, version: int, config: JsonDict, bundles: Mapping[str, bytes]) -> None:
        for name, data in sorted(bundles.items()):
            if not self._client.has_package(name):
                self._client.upload_package(name, data)
                log.info("uploaded code package %s (%d bytes)", name, len(data))
        self._client.put_applications(config)
        done = time.monotonic()
        with self._cond:
            self._sent_version = max(self._sent_version, version)
            self._last_put_done = done
            for gate in self._gates.values():
                if gate.put_done is None and gate.version <= version:
                    gate.put_done = done
                    gate.deadline = done + self.health_timeout
        log.info("deployed %d application(s) to Ray", len(config["applications"]))

    def _shut_down(self, version: int) -> None:
        self._client.delete_applications()
        done = time.monotonic()
        with self._cond:
            self._sent_version = max(self._sent_version, version)
            self._last_put_done = done
        log.info("no unit left: Serve shut down on Ray")

    def _poll(self) -> None:
        started = time.monotonic()
        state = self._client.get_applications()
        with self._cond:
            self._ray_state, self._ray_state_time = state, started
            if not self._pending():
                self._error = None
            self._backoff.reset()

    def _failed(self, message: str) -> None:
        with self._cond:
            if self._error != message:
                log.warning("Ray runtime: %s (retrying)", message)
            self._error = message
            if not self._stop:
                self._cond.wait(self._backoff.next())

    def _verify_adopted(self) -> None:
        """Once Ray answered after this engine began to drive: an adopted unit whose
        config Ray does not run (its driver died between recording and sending it) is
        sent now, its gate moved to that send."""
        with self._cond:
            if not self._driving or self._ray_state is None or not self._unverified:
                return
            if self._ray_state_time < self._driving_since:
                return
            state = self._ray_state
            for app in sorted(self._unverified, key=lambda a: a.full_string()):
                unit = self._units.get(app)
                if unit is not None and ray_live.drift(unit.config, state, self._other_names(app)):
                    self._version += 1
                    gate = self._gates.get(app)
                    if gate is not None:
                        gate.version, gate.put_done, gate.deadline = self._version, None, None
                    log.warning("Ray does not run %s as recorded: sending it", app.full_string())
            self._unverified.clear()

    def _decide(self) -> list[GateOutcome]:
        with self._cond:
            answer = (self._ray_state, self._ray_state_time, time.monotonic())
            return ray_gate.decide(self._gates, *answer, self.health_timeout)

    def _notify(self, outcome: GateOutcome) -> None:
        with self._cond:
            listener = self._listener
        ray_gate.notify(listener, outcome)
