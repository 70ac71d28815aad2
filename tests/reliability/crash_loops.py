"""The two crash-consistency loops, sized by the caller: a few hundred syncs in CI, many
more in ``bench/reliability.py``.

* engine variant: ``sync_crash_worker.py`` runs step-wise syncs on the embedded engine
  and is SIGKILLed at random moments (and kills itself at announced step boundaries and
  inside the activation transaction); after every kill the state directory is reopened
  and every invariant checked.
* remote-agent variant: a real ``gitsync engine`` process and a real ``gitsync agent
  --engine URL`` following a git repository that keeps moving; the agent is SIGKILLed at
  random moments (and, now and then, the engine too) and restarted; the invariants are
  checked after each kill and the agent must converge to the source at the end.
"""

from __future__ import annotations

import functools
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitsync.engine import Engine
from tests.testing.agent import AgentProcess
from tests.testing.engine import EngineProcess
from tests.testing.git import WorkRepo
from tests.testing.reliability import (
    InvariantState,
    InvariantViolation,
    check_store,
    history_of,
    live_of,
    serve_config,
)
from tests.testing.tools import python_env
from tests.testing.wait import WAIT_S, wait_until

WORKER = "tests.reliability.sync_crash_worker"  # run with python -m
# Generous: a busy shared machine runs the 200-sync loops in minutes, not an hour.
GIVE_UP_S = 3600.0
_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass
class CrashStats:
    variant: str
    syncs: int = 0  # syncs started (engine) / agent activations recorded (agent)
    activations: int = 0  # activations a client was told about
    kills: int = 0  # SIGKILLs that hit a live process
    engine_kills: int = 0
    restarts: int = 0
    checks: int = 0
    violations: list[str] = field(default_factory=list)
    phases: dict[str, int] = field(default_factory=dict)
    converged: bool = False


def _check(state: Path, memory: InvariantState, stats: CrashStats, strict: bool) -> None:
    stats.checks += 1
    try:
        check_store(state, memory)
    except InvariantViolation as exc:
        stats.violations.append(str(exc))
        if strict:
            raise


def _give_up_after(seconds: float, stats: CrashStats, syncs: int) -> Callable[[], None]:
    """A check that raises once ``seconds`` have passed: a loop that stops making progress
    fails instead of running forever."""
    deadline = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{stats.variant}: only {stats.syncs} of {syncs} syncs in {seconds:g} s"
            )

    return check


def engine_crash_loop(
    state: Path,
    *,
    syncs: int,
    seed: int = 1,
    max_life_s: float = 0.5,
    strict: bool = True,
    give_up_s: float = GIVE_UP_S,
) -> CrashStats:
    """Run worker lives until ``syncs`` syncs have started; check after every life."""
    rng = random.Random(seed)
    stats = CrashStats("engine")
    memory = InvariantState()
    life = 0
    give_up = _give_up_after(give_up_s, stats, syncs)
    while stats.syncs < syncs:
        give_up()
        life += 1
        budget = min(rng.randint(1, 15), syncs - stats.syncs)
        worker = subprocess.Popen(
            [sys.executable, "-m", WORKER, str(state), str(seed * 100_000 + life), str(budget)],
            env=python_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        killer = threading.Timer(WAIT_S, worker.kill)  # a worker that never gets READY
        killer.start()
        for line in worker.stdout:
            word, *rest = line.split()
            if word == "READY":
                stats.restarts += 1
                killer.cancel()
                killer = threading.Timer(rng.uniform(0.0, max_life_s), worker.kill)
                killer.start()
            elif word == "SYNC":
                stats.syncs += 1
                stats.phases[rest[1]] = stats.phases.get(rest[1], 0) + 1
            elif word == "ACTIVATED":
                stats.activations += 1
                memory.reported.setdefault(f"default.{rest[0]}.default", set()).add(int(rest[1]))
        killer.cancel()
        if worker.wait(timeout=WAIT_S) < 0:
            stats.kills += 1
        with Engine(state):  # reopening must work after any kill
            _check(state, memory, stats, strict)
    return stats


def agent_converges_in_process(state: Path, source: Path, unit: str) -> bool:
    """After the crash loop: an agent on the embedded engine brings ``unit`` to ``source``."""
    from gitsync.agent.loop import Agent, AgentConfig
    from gitsync.agent.metrics import AgentMetrics
    from gitsync.agent.source import DirectoryAgentSource
    from gitsync.config.loader import load_snapshot
    from gitsync.sources.directory import read_directory
    from gitsync.sources.spec import SourceSpec
    from gitsync.sync.reconcile import PrunePolicy
    from gitsync.sync.target import EmbeddedTarget

    with EmbeddedTarget(state) as target:
        spec = SourceSpec(str(source))
        config = AgentConfig(application=unit, policy=PrunePolicy(allow_mass_prune=True))
        agent = Agent(DirectoryAgentSource(spec), target, config, metrics=AgentMetrics())
        first = agent.reconcile_once()
        second = agent.reconcile_once()
        wanted = load_snapshot(read_directory(source)).config
        live = target.live("default", unit)
        return first.result == "applied" and second.result == "in-sync" and live.config == wanted


# -- the remote-agent variant ------------------------------------------------------------


def _agent_syncs(url: str) -> int:
    return sum(1 for entry in history_of(url) if _SHA.fullmatch(entry["revision"]))


def _started_or_dead(agent: AgentProcess) -> bool:
    return agent.published_url() is not None or not agent.alive()


def agent_crash_loop(
    work: Path,
    *,
    syncs: int,
    seed: int = 2,
    max_life_s: float = 2.0,
    engine_kill_share: float = 0.2,
    strict: bool = True,
    give_up_s: float = GIVE_UP_S,
) -> CrashStats:
    """Kill a remote agent (and sometimes the engine) until the engine has recorded
    ``syncs`` activations from the agent; then the agent must converge."""
    rng = random.Random(seed)
    stats = CrashStats("remote-agent")
    memory = InvariantState()
    repo = WorkRepo(work / "repo")
    step = 0

    def commit() -> str:
        nonlocal step
        step += 1
        return repo.commit(f"step {step}", {"serve.yaml": serve_config(rng, "default", str(step))})

    commit()
    state = work / "engine-state"
    engine = EngineProcess(state, work / "engine.log").start()
    agent_args = [str(repo.path), "--ref", "main", "--engine", engine.url, "--interval", "0.05"]
    # A restarted agent is a new holder: it waits for the killed one's lease to run out,
    # so the shortest TTL keeps the loop about crashes, not about waiting.
    agent_args += ["--allow-mass-prune", "--lease-ttl", "1"]
    give_up = _give_up_after(give_up_s, stats, syncs)
    try:
        while stats.syncs < syncs:
            give_up()
            agent = AgentProcess(agent_args, work / "agent-state", work / "agent.log")
            stats.restarts += 1
            try:
                wait_until(functools.partial(_started_or_dead, agent), "the agent to start")
                life_end = time.monotonic() + rng.uniform(0.1, max_life_s)
                kill_engine_at = (
                    time.monotonic() + rng.uniform(0.0, max_life_s)
                    if rng.random() < engine_kill_share
                    else None
                )
                while time.monotonic() < life_end:
                    commit()
                    if kill_engine_at is not None and time.monotonic() >= kill_engine_at:
                        engine.kill()  # mid-request, perhaps: SIGKILL under the agent
                        stats.engine_kills += 1
                        engine.start()
                        kill_engine_at = None
                    time.sleep(rng.uniform(0.02, 0.25))
            finally:
                if agent.alive():
                    stats.kills += 1
                agent.kill()
            _check(state, memory, stats, strict)
            stats.syncs = _agent_syncs(engine.url)
        # Converge: a fresh agent, a last commit, and the live state follows the source.
        head = commit()
        agent = AgentProcess(agent_args, work / "agent-state", work / "agent.log")
        try:
            wait_until(
                lambda: (live_of(engine.url).get("history") or [{}])[0].get("revision") == head,
                "the agent to deploy the last commit",
            )
            status = wait_until(
                lambda: (
                    (s := agent.status())["lastSync"] and s["lastSync"]["result"] == "in-sync" and s
                ),
                "the agent to report in-sync",
            )
            stats.converged = status["revisions"]["applied"] == head
            assert agent.stop() == 0
        finally:
            agent.kill()
        _check(state, memory, stats, strict)
        stats.activations = len(history_of(engine.url))
    finally:
        engine.stop()
    return stats
