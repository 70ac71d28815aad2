"""Agent failover, the long variant of tests/ha/test_agent_failover.py (run through
``python bench/ha.py --agent-failover ROUNDS [--lease-ttl 10]``).

Three engines on one PostgreSQL, two agents on one unit (each through its own engine)
following a git repository, and a loop that SIGKILLs the agent holding the unit (and,
every third round, an engine), commits, and times how long until the standby applied
the commit; then one clean stop (SIGTERM: the lease is released). It prints each round
and the median and worst takeover, then checks that generations strictly grow, no
revision was applied twice and the head is active.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path

import httpx

from gitsync.engine import Engine
from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.engine import EngineProcess
from tests.testing.git import GIT_ENV, WorkRepo
from tests.testing.postgres import PostgresServer
from tests.testing.wait import wait_until


class AgentPair:
    """Two agents on the unit ``agents``, agent i through engine i; restarted by index."""

    def __init__(self, root: Path, repo: WorkRepo, nodes: list[EngineProcess], ttl: float):
        self.root, self.repo, self.nodes, self.ttl = root, repo, nodes, ttl
        self.starts = [0, 0]
        self.agents = [self.start(0), self.start(1)]

    def start(self, i: int) -> AgentProcess:
        self.starts[i] += 1
        args = [str(self.repo.path), "--ref", "main", "--application", "agents"]
        args += ["--interval", "0.3", "--lease-ttl", f"{self.ttl:g}", "--engine", self.nodes[i].url]
        log = self.root / f"agent{i}-{self.starts[i]}.log"
        return AgentProcess(args, self.root / f"m{i}", log, dict(os.environ)).wait_started()

    def roles(self) -> tuple[int, int] | None:
        """(index of the active agent, index of the standby), once both know their role."""
        try:
            roles = [agent.lease()["role"] for agent in self.agents]
        except (httpx.HTTPError, KeyError, TypeError):
            return None
        if sorted(roles) != ["active", "standby"]:
            return None
        active = roles.index("active")
        return active, 1 - active

    def applied(self, i: int, sha: str) -> bool:
        try:
            return bool(self.agents[i].status()["revisions"]["applied"] == sha)
        except httpx.HTTPError:
            return False

    def wait_applied(self, i: int, sha: str) -> None:
        wait_until(lambda: self.applied(i, sha), f"agent {i} to apply {sha[:12]}", timeout_s=300)


def agent_failover(server: PostgresServer, root: Path, kills: int, ttl: float) -> None:
    os.environ.update(GIT_ENV)
    url = server.create_database("bench")
    nodes = [
        EngineProcess(root / f"e{i}", root / f"e{i}.log", extra=["--store", url]) for i in range(3)
    ]
    rng = random.Random(16)
    repo = WorkRepo(root / "work")
    repo.commit("r0", {"apps/a.yaml": app_yaml("a", price=0)})
    pair: AgentPair | None = None
    try:
        for node in nodes:
            node.start()
        pair = AgentPair(root, repo, nodes, ttl)
        takeovers: list[float] = []
        for step in range(1, kills + 1):
            active, standby = wait_until(pair.roles, "one active agent and one standby")
            if step % 3 == 0:  # an engine too, not the standby's: it must be able to act
                victim = rng.choice([n for i, n in enumerate(nodes) if i != standby])
                victim.kill()
                victim.start()
            killed = time.monotonic()
            pair.agents[active].kill()
            sha = repo.commit(f"r{step}", {"apps/a.yaml": app_yaml("a", price=step)})
            pair.wait_applied(standby, sha)
            takeovers.append(time.monotonic() - killed)
            print(f"round {step}: agent killed -> standby applied the next commit in "
                  f"{takeovers[-1]:.2f} s (TTL {ttl:g} s)", flush=True)  # fmt: skip
            pair.agents[active] = pair.start(active)
            time.sleep(rng.uniform(0.0, ttl / 2))
        active, standby = wait_until(pair.roles, "one active agent and one standby")
        stopped = time.monotonic()
        pair.agents[active].stop()
        sha = repo.commit("after a clean stop", {"apps/a.yaml": app_yaml("a", price=-1)})
        pair.wait_applied(standby, sha)
        clean = time.monotonic() - stopped
        print(
            f"agent killed -> standby applied the next commit: median "
            f"{statistics.median(takeovers):.2f} s, worst {max(takeovers):.2f} s over "
            f"{len(takeovers)} kills (lease TTL {ttl:g} s); clean stop (lease released) -> "
            f"standby applied: {clean:.2f} s"
        )
        with Engine(root / "checker", store=url) as engine:
            entries = engine.history("default", "agents")
            generations = [e.generation for e in entries]
            revisions = [e.revision for e in entries]
            ok = (
                generations == sorted(set(generations), reverse=True)
                and len(set(revisions)) == len(revisions)
                and revisions[0] == repo.head()
            )
            print(
                f"invariants: {len(generations)} generations strictly growing, no revision "
                f"applied twice, the head active: {'yes' if ok else 'NO'}"
            )
    finally:
        if pair is not None:
            for agent in pair.agents:
                agent.kill()
        for node in nodes:
            node.stop()
