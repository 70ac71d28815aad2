"""Several engines on one PostgreSQL: python bench/ha.py [--engines 3] [--clients 6]
[--seconds 20] [--ray-failover ROUNDS] [--agent-failover ROUNDS [--lease-ttl 10]].

Starts a private PostgreSQL server (fsync on) and N ``gitsync engine --store`` processes,
then clients deploy small packages through the engines in turn (each client its own
deployment unit, so activations do not conflict) and report sustained activations per
second, latency percentiles and any failure. Then the same with one engine, for scale.

With ``--ray-failover ROUNDS``: instead, a private Ray cluster and N engines with
``--runtime ray``; each round SIGKILLs the engine that drives Ray, deploys through
another at once, and times "driver killed -> another engine holds the runtime lease"
and "driver killed -> Ray runs the config of that deploy"; the killed engine comes
back as a standby for the next round.

With ``--agent-failover ROUNDS``: instead, two agents on one unit beside three engines;
each round SIGKILLs the agent that holds the unit and times "agent killed -> the standby
applied the next commit" (bench/ha_agents.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitsync.config import package
from gitsync.engine.runtime_lease import LEASE_TTL_S
from tests.testing.configs import serve_yaml
from tests.testing.engine import EngineProcess
from tests.testing.postgres import PostgresServer
from tests.testing.raycluster import start_cluster
from tests.testing.wait import free_port

SERVE_APPS = "/api/serve/applications/"
FAILOVER_PACKAGE = "_gitsync_bench_failover.zip"
FAILOVER_CODE = b"""from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0.05})
class Hello:
    def reconfigure(self, config):
        self.step = config.get("step")

    def __call__(self, request):
        return str(self.step)


app = Hello.bind()
"""


def failover_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench_failover.py", FAILOVER_CODE)
    return buffer.getvalue()


def client_loop(
    urls: list[str], unit: str, stop: float, latencies: list[float], failures: list[str]
) -> None:
    path = f"/api/gitsync/v1/tenant/default/application/{unit}/deploy"
    step = 0
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < stop:
            step += 1
            body = package.build_zip({"serve.yaml": serve_yaml((unit, f"/{unit}"), price=step)})
            url = urls[step % len(urls)]
            started = time.perf_counter()
            response = client.post(
                url + path, content=body, headers={"Content-Type": "application/zip"}
            )
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures.append(f"{response.status_code} {response.text[:120]}")


def measure(server: PostgresServer, root: Path, engines: int, clients: int, seconds: float) -> None:
    url = server.create_database("bench")
    nodes = [
        EngineProcess(
            root / f"e{engines}-{i}", root / f"e{engines}-{i}.log", extra=["--store", url]
        )
        for i in range(engines)
    ]
    try:
        for node in nodes:
            node.start()
        urls = [node.url for node in nodes]
        latencies: list[float] = []
        failures: list[str] = []
        stop = time.monotonic() + seconds
        threads = [
            threading.Thread(target=client_loop, args=(urls, f"u{i}", stop, latencies, failures))
            for i in range(clients)
        ]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        ms = sorted(v * 1000 for v in latencies)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))] if ms else 0.0
        print(
            f"{engines} engine(s), {clients} clients, {elapsed:.0f} s: "
            f"{len(latencies) / elapsed:.1f} activations/s (create+prepare+activate per "
            f"request), p50 {statistics.median(ms) if ms else 0:.1f} ms, p99 {p99:.1f} ms, "
            f"{len(failures)} failed{': ' + failures[0] if failures else ''}"
        )
    finally:
        for node in nodes:
            node.stop()


def ray_config(port: int, step: int) -> dict[str, Any]:
    """One application without replicas to start (a config change is what is timed)."""
    app = {
        "name": "failover",
        "route_prefix": "/failover",
        "import_path": "bench_failover:app",
        "runtime_env": {"working_dir": f"gcs://{FAILOVER_PACKAGE}"},
        "deployments": [{"name": "Hello", "num_replicas": 1, "user_config": {"step": step}}],
    }
    return {"http_options": {"host": "127.0.0.1", "port": port}, "applications": [app]}


def ray_step(dashboard: str) -> int | None:
    """The ``step`` of the config Ray holds for the bench's application."""
    try:
        apps = httpx.get(dashboard + SERVE_APPS, timeout=10).json().get("applications") or {}
    except httpx.HTTPError:
        return None
    config = (apps.get("failover") or {}).get("deployed_app_config") or {}
    user_config = (config.get("deployments") or [{}])[0].get("user_config") or {}
    step = user_config.get("step")
    return step if isinstance(step, int) else None


def driving(node: EngineProcess) -> bool:
    try:
        body = httpx.get(node.url + "/state/v1/health", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return bool((body.get("runtimeDriver") or {}).get("thisEngine"))


def poll(check: Callable[[], bool], timeout: float = 120.0) -> float:
    """Monotonic time when ``check`` first held (every 20 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.02)
    raise RuntimeError("timed out")


def failover_round(
    nodes: list[EngineProcess], dashboard: str, port: int, step: int
) -> tuple[float, float]:
    """Kill the driver, deploy through another at once; the seconds until another
    engine drives and until Ray holds that deploy's config. The killed one restarts."""
    poll(lambda: any(driving(node) for node in nodes), 60)
    leader = next(node for node in nodes if driving(node))
    others = [node for node in nodes if node is not leader]
    leader.kill()
    killed = time.monotonic()
    body = ray_config(port, step)
    httpx.put(others[0].url + SERVE_APPS, json=body, timeout=30).raise_for_status()
    took = poll(lambda: any(driving(node) for node in others))
    reached = poll(lambda: ray_step(dashboard) == step)
    leader.start()  # back as a standby
    return took - killed, reached - killed


def to_ray(nodes: list[EngineProcess], dashboard: str, port: int, step: int) -> tuple[float, float]:
    """Seconds from a Serve REST PUT until Ray holds its config: through the driving
    engine, then through one that is not (its deploy waits for the driver's poll)."""
    leader = next(node for node in nodes if driving(node))
    other = next(node for node in nodes if node is not leader)
    return put_until_ray(leader, dashboard, port, step), put_until_ray(
        other, dashboard, port, step + 1
    )


def put_until_ray(node: EngineProcess, dashboard: str, port: int, step: int) -> float:
    started = time.monotonic()
    httpx.put(node.url + SERVE_APPS, json=ray_config(port, step), timeout=30).raise_for_status()
    return poll(lambda: ray_step(dashboard) == step) - started


def ray_failover(server: PostgresServer, root: Path, engines: int, rounds: int) -> None:
    cluster = start_cluster(num_cpus=2)
    url = server.create_database("failover")
    extra = ["--store", url, "--runtime", "ray", "--ray-address", cluster.dashboard]
    nodes = [EngineProcess(root / f"r{i}", root / f"r{i}.log", extra=extra) for i in range(engines)]
    port = free_port()
    try:
        httpx.put(
            f"{cluster.dashboard}/api/packages/gcs/{FAILOVER_PACKAGE}", content=failover_zip()
        ).raise_for_status()
        for node in nodes:
            node.start()
        httpx.put(nodes[0].url + SERVE_APPS, json=ray_config(port, 0)).raise_for_status()
        poll(lambda: ray_step(cluster.dashboard) == 0)
        direct: list[float] = []
        relayed: list[float] = []
        for step in range(1000, 1020, 2):
            through_driver, through_other = to_ray(nodes, cluster.dashboard, port, step)
            direct.append(through_driver)
            relayed.append(through_other)
        print(
            f"PUT -> Ray holds the config, p50 of {len(direct)}: through the driving engine "
            f"{statistics.median(direct) * 1000:.0f} ms, through another engine "
            f"{statistics.median(relayed) * 1000:.0f} ms",
            flush=True,
        )
        lease_s: list[float] = []
        ray_s: list[float] = []
        for step in range(1, rounds + 1):
            took, reached = failover_round(nodes, cluster.dashboard, port, step)
            lease_s.append(took)
            ray_s.append(reached)
            print(
                f"round {step}: driver killed -> another drives {took:.2f} s, "
                f"-> Ray runs the deploy made at the kill {reached:.2f} s",
                flush=True,
            )
        print(
            f"Ray failover, {engines} engines, {rounds} rounds (lease TTL {LEASE_TTL_S:g} s): "
            f"another engine drives after p50 {statistics.median(lease_s):.1f} s, "
            f"max {max(lease_s):.1f} s; the deploy made at the kill reaches Ray after "
            f"p50 {statistics.median(ray_s):.1f} s, max {max(ray_s):.1f} s"
        )
    finally:
        for node in nodes:
            node.stop()
        with contextlib.suppress(httpx.HTTPError):
            httpx.delete(cluster.dashboard + SERVE_APPS, timeout=60)
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", type=int, default=3)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--ray-failover", type=int, default=0, metavar="ROUNDS")
    parser.add_argument("--agent-failover", type=int, default=0, metavar="ROUNDS")
    parser.add_argument("--lease-ttl", type=float, default=10.0, help="the agents' lease TTL")
    args = parser.parse_args()
    server = PostgresServer(fsync=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.agent_failover:
                from bench.ha_agents import agent_failover

                agent_failover(server, Path(tmp), args.agent_failover, args.lease_ttl)
                return
            if args.ray_failover:
                ray_failover(server, Path(tmp), max(2, args.engines), args.ray_failover)
                return
            for engines in sorted({1, args.engines}):
                measure(server, Path(tmp), engines, args.clients, args.seconds)
    finally:
        server.remove()


if __name__ == "__main__":
    main()
