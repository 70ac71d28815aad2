"""Failover with agents: three engines on one PostgreSQL, clients spreading deploys over
them, two agents on one more unit (each through its own engine) following a git source
that keeps moving, and SIGKILLs of engines and agents at random points, each victim
restarted. Afterwards the engines' invariants (tests/ha/test_engine_failover.py) hold,
and for the agents' unit: generations strictly grow, no revision was applied twice (one
agent acted at a time), the two agents converge on the source's head with one active
and one standby."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitsync.engine import Engine
from tests.ha.test_engine_failover import UNITS, Outcomes, client
from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.engine import EngineProcess
from tests.testing.git import WorkRepo
from tests.testing.wait import wait_until

pytestmark = pytest.mark.slow  # engines and agents killed and restarted in a loop

KILLS = 8
UNIT = "agents"
TTL_S = 2.0


def test_engines_and_agents_killed_under_load(
    tmp_path: Path,
    repo: WorkRepo,
    engines: tuple[str, list[EngineProcess]],
    start_agent: Callable[..., AgentProcess],
) -> None:
    url, nodes = engines
    rng = random.Random(16)
    repo.commit("r0", {"apps/a.yaml": app_yaml("a", price=0)})
    starts = [0, 0]

    def agent(i: int) -> AgentProcess:
        starts[i] += 1
        return start_agent(
            str(repo.path), "--ref", "main", "--application", UNIT, "--interval", "0.3",
            "--lease-ttl", f"{TTL_S:g}", "--engine", nodes[i].url,
            state_dir=tmp_path / f"m{i}", name=f"agent{i}-{starts[i]}",
        )  # fmt: skip

    agents = [agent(0), agent(1)]
    out = Outcomes()
    stop = threading.Event()
    clients = [threading.Thread(target=client, args=(nodes, u, stop, out)) for u in UNITS]
    for thread in clients:
        thread.start()
    try:
        for step in range(1, KILLS + 1):
            time.sleep(rng.uniform(0.3, 1.5))
            repo.commit(f"r{step}", {"apps/a.yaml": app_yaml("a", price=step)})
            victim = rng.randrange(len(nodes) + len(agents))
            if victim < len(nodes):
                nodes[victim].kill()
                time.sleep(rng.uniform(0.0, 0.5))
                nodes[victim].start()
            else:
                i = victim - len(nodes)
                agents[i].kill()
                time.sleep(rng.uniform(0.0, 0.5))
                agents[i] = agent(i)
    finally:
        time.sleep(1.0)
        stop.set()
        for thread in clients:
            thread.join(timeout=120)
    head = repo.commit("last", {"apps/a.yaml": app_yaml("a", price=1000)})

    def converged() -> list[dict[str, Any]] | None:
        statuses = [a.status() for a in agents]
        roles = sorted(s["lease"]["role"] for s in statuses)
        applied = [s for s in statuses if s["revisions"]["applied"] == head]
        return statuses if roles == ["active", "standby"] and applied else None

    statuses = wait_until(converged, "the agents to converge on the source's head")
    active = next(s for s in statuses if s["lease"]["role"] == "active")
    standby = next(s for s in statuses if s["lease"]["role"] == "standby")
    assert standby["lease"]["holder"]["holder"] == active["lease"]["me"]

    assert not out.unexpected, out.unexpected
    assert len(out.accepted) > KILLS
    with Engine(tmp_path / "checker", store=url) as engine:
        entries = engine.history("default", UNIT)
        generations = [entry.generation for entry in entries]
        assert generations == sorted(set(generations), reverse=True)  # strictly growing
        revisions = [entry.revision for entry in entries]
        assert len(set(revisions)) == len(revisions), "a revision was applied twice"
        assert revisions[0] == head
        assert engine.get_application("default", UNIT).generation == generations[0]
        lease = engine.unit_leases.current("default", UNIT)
        assert lease is not None and lease.holder == active["lease"]["me"]
        for unit in UNITS:  # the clients' units, as in the engines' failover test
            mine = {g for g, (u, _) in out.accepted.items() if u == unit}
            history = [e.generation for e in engine.history("default", unit)]
            assert history == sorted(set(history), reverse=True)
            assert mine <= set(history), "an acknowledged activation is missing"
