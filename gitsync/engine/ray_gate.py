"""The Ray runtime's health gate: the generations waiting for a verdict, the verdicts
Ray's last answer gives, and telling the engine.

A gate opens when a generation is handed over (or adopted by a new driver); it counts
from the moment the PUT carrying it returned. It closes healthy once the changed
applications are RUNNING with the new config, failed when one is DEPLOY_FAILED or
UNHEALTHY, or failed when the timeout passes first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gitsync.engine import ray_live
from gitsync.engine.records import AppId, JsonDict
from gitsync.engine.runtime import GateListener, GateOutcome

log = logging.getLogger("gitsync.engine.ray")

#: Ray's control loop runs every 0.1 s: a GET sent sooner after a PUT may still show
#: the old status with the new config, so the gate ignores answers younger than this.
SETTLE_S = 0.25


@dataclass
class Gate:
    generation: int
    names: tuple[str, ...]
    sent: JsonDict
    version: int  # the config version that carries this generation
    put_done: float | None = None  # monotonic time the PUT of that version returned
    deadline: float | None = None


def decide(
    gates: dict[AppId, Gate],
    state: JsonDict | None,
    state_time: float,
    now: float,
    timeout: float,
) -> list[GateOutcome]:
    """The verdicts Ray's answer ``state`` (asked at ``state_time``) gives; the gates
    decided leave ``gates``."""
    outcomes: list[GateOutcome] = []
    for app, gate in list(gates.items()):
        if gate.put_done is None or gate.deadline is None or state is None:
            continue  # not sent yet: an unreachable Ray is not the config's fault
        verdict = None
        if state_time >= gate.put_done + SETTLE_S:
            verdict = ray_live.gate_verdict(gate.names, gate.sent, state)
        if verdict is None and now > gate.deadline:
            waiting = ray_live.waiting_on(gate.names, state)
            verdict = (False, f"not RUNNING after {timeout:g} s: {waiting}")
        if verdict is not None:
            del gates[app]
            outcomes.append(GateOutcome(app, gate.generation, *verdict))
    return outcomes


def notify(listener: GateListener | None, outcome: GateOutcome) -> None:
    """Log the verdict and hand it to the engine (whose failures must not stop Ray's
    thread: the engine logs its own errors)."""
    level = logging.INFO if outcome.healthy else logging.WARNING
    log.log(
        level,
        "generation %d of %s %s: %s",
        outcome.generation,
        outcome.app.full_string(),
        "is healthy" if outcome.healthy else "failed",
        outcome.message,
    )
    if listener is not None:
        try:
            listener(outcome)
        except Exception:
            log.exception("the gate listener failed")
