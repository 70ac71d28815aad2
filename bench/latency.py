"""Benchmark: how fast a change becomes the active generation.

(a) ``git push`` to a bare repository with the gitsync hooks → new generation active,
    over N pushes: p50 / p95 of the time from starting ``git push`` to the new
    generation, on both paths: with an agent running on the bare repository (the hooks
    ask it to validate and to sync, and wait), and without one (hooks installed with
    ``--state-dir``: they validate and deploy to the embedded engine themselves). The
    CPU time of the push (git and both hooks) is printed too: on a shared machine it
    moves less than the wall time. Without an agent, the first push also creates the
    engine's store and compiles its statements; the later hooks find them compiled in
    the state directory and load no SQLAlchemy.
(b) a file write in a directory the agent watches → new generation active, p50 / p95.
(c) a no-op reconcile of a git repository holding 1,000 applications (nothing changed).

Targets: push → active p50 ≤ 300 ms (both paths), write → active p50 ≤ 500 ms, no-op ≤ 50 ms.
Anchors: Argo CD polls every 3 minutes, Flux every minute.

Each hook is a fresh Python process, so loading modules is part of a push. An installed
gitsync has its bytecode compiled (pip does it at install), so the bench compiles the
package it runs first; ``--no-compile`` measures the tree as found (with
PYTHONDONTWRITEBYTECODE set and no ``__pycache__``, every hook compiles every module).
Every wait has a deadline.

Run: python bench/latency.py [--pushes 20] [--writes 20] [--noop-runs 50] (0 skips one).
Another tree's gitsync (before/after figures): PYTHONPATH=OTHER_TREE:THIS_TREE python
bench/latency.py --noop-runs 0 (the processes it starts run OTHER_TREE's gitsync; (c)
runs in this process and needs this tree's).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

# tests.testing, after PYTHONPATH: the gitsync measured is the one PYTHONPATH names (an
# older tree's, to compare), as in the hooks and agents the bench starts.
sys.path.append(str(Path(__file__).resolve().parents[1]))

from tests.testing.git import GIT_ENV, WorkRepo, git
from tests.testing.tools import tool_path
from tests.testing.wait import wait_until

PYTHON = sys.executable
PUSH_TIMEOUT_S = 180.0  # one push, both hooks included
WAIT_S = 60.0


def app_yaml(name: str, price: int) -> str:
    return (
        f"name: {name}\nroute_prefix: /{name}\nimport_path: shop:app\n"
        f"deployments:\n  - name: Stand\n    num_replicas: 1\n    user_config: {{price: {price}}}\n"
    )


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
        f"min {ordered[0] * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms   (n={len(ordered)})"
    )


def status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/api/gitsync/status", timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


class Agent:
    def __init__(self, source: Path, state: Path, *extra: str) -> None:
        self.state = state
        self.log = state.parent / f"agent-{state.name}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "gitsync.main",
                    "agent",
                    str(source),
                    "--state-dir",
                    str(state),
                    "--listen",
                    "127.0.0.1:0",
                    "--interval",
                    "3600",
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        lock = state / "agents" / "default.default.lock"

        def published() -> str | None:
            try:
                info = json.loads(lock.read_text() or "{}")
            except (OSError, ValueError):
                return None
            return str(info.get("url") or "") if info.get("pid") == self.proc.pid else None

        try:
            self.url = wait_until(published, "the agent's API", WAIT_S, self.tail, interval_s=0.02)
            wait_until(
                lambda: (
                    (status(self.url).get("lastSync") or {}).get("result") in ("applied", "in-sync")
                ),
                "the agent's first sync",
                WAIT_S,
                self.tail,
                interval_s=0.02,
            )
        except BaseException:
            self.proc.kill()  # never left running behind a failed bench
            self.proc.wait(timeout=WAIT_S)
            raise

    def tail(self) -> str:
        return self.log.read_text()[-2000:]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=WAIT_S)


def timed_push(work: WorkRepo, bare: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``git push`` (git and both hooks), killed past its
    deadline."""
    started = time.perf_counter()
    push = subprocess.Popen(
        [tool_path("git"), "push", "--quiet", bare.as_uri(), "main"],
        cwd=work.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its hooks too, if the deadline kills it
    )
    deadline = threading.Timer(PUSH_TIMEOUT_S, os.killpg, (push.pid, signal.SIGKILL))
    deadline.start()
    try:
        assert push.stderr is not None
        err = push.stderr.read()
        # wait4's usage covers git and every hook process it waited for.
        _, code, usage = os.wait4(push.pid, 0)
    finally:
        deadline.cancel()
    elapsed = time.perf_counter() - started  # post-receive returns once it is active
    push.returncode = os.waitstatus_to_exitcode(code)
    if push.returncode != 0:
        raise SystemExit(f"push failed ({push.returncode}): {err.decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime


def bench_push(root: Path, pushes: int, *, with_agent: bool) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each push, until the new generation is active."""
    name = "agent" if with_agent else "direct"
    bare, state = root / f"deploy-{name}.git", root / f"state-{name}"
    work = WorkRepo(root / f"work-{name}")
    work.commit("first", {"apps/a.yaml": app_yaml("a", 0)})
    git(root, "clone", "--quiet", "--bare", str(work.path), str(bare))
    agent = Agent(bare, state, "--ref", "main") if with_agent else None
    subprocess.run(
        [PYTHON, "-m", "gitsync.main", "hook", "install", str(bare), "--state-dir", str(state)],
        check=True,
        capture_output=True,
        timeout=WAIT_S,
    )
    walls, cpus = [], []
    try:
        for i in range(1, pushes + 1):
            sha = work.commit(f"price {i}", {"apps/a.yaml": app_yaml("a", i)})
            wall, cpu = timed_push(work, bare)
            applied = (
                status(agent.url)["revisions"]["applied"]
                if agent is not None
                else live_revision(state)
            )
            if applied != sha:
                raise SystemExit(f"push {i}: {sha} is not the applied revision ({applied})")
            walls.append(wall)
            cpus.append(cpu)
    finally:
        if agent is not None:
            agent.stop()
    return walls, cpus


def live_revision(state: Path) -> str | None:
    """The active generation's revision, as ``gitsync history`` reports it."""
    done = subprocess.run(
        [PYTHON, "-m", "gitsync.main", "history", "--state-dir", str(state)]
        + ["-o", "json", "--limit", "1"],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=True,
    )
    entries = json.loads(done.stdout)
    return str(entries[0]["revision"]) if entries else None


def bench_write(root: Path, writes: int) -> list[float]:
    src, state = root / "src", root / "write-state"
    (src / "apps").mkdir(parents=True)
    target = src / "apps" / "a.yaml"
    target.write_text(app_yaml("a", 0))
    agent = Agent(src, state)
    samples = []
    try:
        for i in range(1, writes + 1):
            generation = status(agent.url)["generation"]
            started = time.perf_counter()
            target.write_text(app_yaml("a", i))
            wait_until(
                lambda before=generation: status(agent.url)["generation"] != before,
                f"the generation of write {i}",
                WAIT_S,
                agent.tail,
                interval_s=0.002,
            )
            samples.append(time.perf_counter() - started)
            time.sleep(0.05)  # let the watcher's burst window close between writes
    finally:
        agent.stop()
    return samples


def bench_noop(root: Path, runs: int, apps: int) -> list[float]:
    from gitsync.agent.loop import Agent as LoopAgent
    from gitsync.agent.loop import AgentConfig
    from gitsync.agent.metrics import AgentMetrics
    from gitsync.agent.source import open_source
    from gitsync.sources.spec import SourceSpec
    from gitsync.sync.reconcile import PrunePolicy
    from gitsync.sync.target import EmbeddedTarget

    big = WorkRepo(root / "big")
    big.commit(
        f"{apps} applications",
        {f"apps/app{i:04d}.yaml": app_yaml(f"app{i:04d}", i) for i in range(apps)},
    )
    repo = big.path
    metrics = AgentMetrics()
    with EmbeddedTarget(root / "noop-state") as target:
        agent = LoopAgent(
            open_source(SourceSpec(str(repo), ref="main"), metrics),
            target,
            AgentConfig(policy=PrunePolicy(allow_mass_prune=True)),
            metrics=metrics,
        )
        first = agent.reconcile_once()
        assert first.result == "applied", first
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            outcome = agent.reconcile_once()
            samples.append(time.perf_counter() - started)
            assert outcome.result == "in-sync", outcome
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--noop-runs", type=int, default=50)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="do not compile the package's bytecode first (measure the tree as found)",
    )
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    with tempfile.TemporaryDirectory(prefix="gitsync-latency-") as tmp:
        root = Path(tmp)
        # Every process the bench starts runs here: ``python -m``/``-c`` put the working
        # directory first on sys.path, and a checkout's gitsync there would win.
        os.chdir(root)
        where = [PYTHON, "-c", "import gitsync; print(gitsync.__file__)"]
        found = subprocess.run(where, capture_output=True, text=True, check=True).stdout
        package = Path(found.strip()).parent
        if not args.no_compile:
            compileall.compile_dir(package, quiet=1)
        print(f"gitsync from {package} ({'as found' if args.no_compile else 'bytecode compiled'})")
        for with_agent in (True, False) if args.pushes else ():
            walls, cpus = bench_push(root, args.pushes, with_agent=with_agent)
            label = "with agent" if with_agent else "no agent  "
            print(f"(a) git push → active, {label} {percentiles(walls)}")
            print(f"    CPU of the push, {label}   {percentiles(cpus)}")
        if args.writes:
            writes = bench_write(root, args.writes)
            print(f"(b) file write → active      {percentiles(writes)}")
        if args.noop_runs:
            noop = bench_noop(root, args.noop_runs, args.apps)
            print(f"(c) no-op reconcile, {args.apps} apps {percentiles(noop)}")
    print("targets: push p50 ≤ 300 ms (with and without agent), write p50 ≤ 500 ms, no-op ≤ 50 ms")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
