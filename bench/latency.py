"""Benchmark: how fast a change becomes the active generation.

(a) ``git push`` to a bare repository with the gitsync hooks → new generation active,
    over N pushes: p50 / p95 of the time from starting ``git push`` to the new
    generation, on both paths: with an agent running on the bare repository (the hooks
    ask it to validate and to sync, and wait), and without one (hooks installed with
    ``--state-dir``: they validate and deploy to the embedded engine themselves). The
    CPU time of the push (git and both hooks) is printed too: on a shared machine it
    moves less than the wall time.
(b) a file write in a directory the agent watches → new generation active, p50 / p95.
(c) a no-op reconcile of a git repository holding 1,000 applications (nothing changed).

Targets: push → active p50 ≤ 300 ms (both paths), write → active p50 ≤ 500 ms, no-op ≤ 50 ms.
Anchors: Argo CD polls every 3 minutes, Flux every minute.

Run: python bench/latency.py [--pushes 20] [--writes 20] [--noop-runs 50] (0 skips one)
"""

from __future__ import annotations

import argparse
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

PYTHON = sys.executable
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def app_yaml(name: str, price: int) -> str:
    return (
        f"name: {name}\nroute_prefix: /{name}\nimport_path: shop:app\n"
        f"deployments:\n  - name: Stand\n    num_replicas: 1\n    user_config: {{price: {price}}}\n"
    )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


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
        log = (state.parent / "agent.log").open("w")
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
        deadline = time.monotonic() + 60
        self.url = ""
        while time.monotonic() < deadline and not self.url:
            try:
                info = json.loads(lock.read_text() or "{}")
                self.url = info.get("url") or "" if info.get("pid") == self.proc.pid else ""
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        if not self.url:
            raise SystemExit("the agent did not start")
        while (status(self.url).get("lastSync") or {}).get("result") not in ("applied", "in-sync"):
            time.sleep(0.02)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def bench_push(root: Path, pushes: int, *, with_agent: bool) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each push, until the new generation is active."""
    name = "agent" if with_agent else "direct"
    work, bare, state = root / f"work-{name}", root / f"deploy-{name}.git", root / f"state-{name}"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    (work / "apps").mkdir()
    (work / "apps" / "a.yaml").write_text(app_yaml("a", 0))
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "first")
    git(root, "clone", "--quiet", "--bare", str(work), str(bare))
    agent = Agent(bare, state, "--ref", "main") if with_agent else None
    subprocess.run(
        [PYTHON, "-m", "gitsync.main", "hook", "install", str(bare), "--state-dir", str(state)],
        check=True,
        capture_output=True,
    )
    walls, cpus = [], []
    try:
        for i in range(1, pushes + 1):
            (work / "apps" / "a.yaml").write_text(app_yaml("a", i))
            git(work, "commit", "--quiet", "-am", f"price {i}")
            sha = git(work, "rev-parse", "HEAD")
            started = time.perf_counter()
            push = subprocess.Popen(
                ["git", "push", "--quiet", bare.as_uri(), "main"],
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            assert push.stderr is not None
            err = push.stderr.read()
            # wait4's usage covers git and every hook process it waited for.
            _, code, usage = os.wait4(push.pid, 0)
            push.returncode = os.waitstatus_to_exitcode(code)
            elapsed = time.perf_counter() - started  # post-receive returns once it is active
            if push.returncode != 0:
                raise SystemExit(f"push {i} failed: {err.decode(errors='replace')}")
            applied = (
                status(agent.url)["revisions"]["applied"]
                if agent is not None
                else live_revision(state)
            )
            if applied != sha:
                raise SystemExit(f"push {i}: {sha} is not the applied revision")
            walls.append(elapsed)
            cpus.append(usage.ru_utime + usage.ru_stime)
    finally:
        if agent is not None:
            agent.stop()
    return walls, cpus


def live_revision(state: Path) -> str | None:
    from gitsync.sync.target import EmbeddedTarget

    with EmbeddedTarget(state) as target:
        return target.live("default", "default").revision


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
            while status(agent.url)["generation"] == generation:
                time.sleep(0.002)
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

    repo = root / "big"
    (repo / "apps").mkdir(parents=True)
    for i in range(apps):
        (repo / "apps" / f"app{i:04d}.yaml").write_text(app_yaml(f"app{i:04d}", i))
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", f"{apps} applications")
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
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    with tempfile.TemporaryDirectory(prefix="gitsync-latency-") as tmp:
        root = Path(tmp)
        for with_agent in (True, False):
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
