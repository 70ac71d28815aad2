"""Benchmark: ``GET /api/serve/applications/`` on the gitsync engine vs a real Ray cluster.

Starts ``gitsync engine`` and a private Ray head (reference/ray-local.md: loopback,
private ports, a fresh temp dir, 2 CPUs; stopped with SIGINT to the ``ray start
--block`` process, never ``ray stop``), deploys the same 1-application and
100-application configs to both, and measures the GET from one httpx client in the
same run, alternating requests between the two. The apps' import path does not
exist, so Ray marks them DEPLOY_FAILED once their build fails (or still DEPLOYING
with 100 builds queued on 2 CPUs): the GET's cost is what is measured. Prints
p50/p99 and the ratio (target: gitsync at least 5x faster at p50 for both sizes).

    python bench/api.py [--requests 300] [--settle 90]
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.testing

from tests.testing.tools import tool_path
from tests.testing.wait import free_port

APPS = "/api/serve/applications/"


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, *, required: bool = True
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    if required:
        raise SystemExit(f"timed out waiting for {what}")
    return False


def deploy_config(count: int, proxy_port: int) -> dict[str, Any]:
    return {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": proxy_port},
        "applications": [
            {
                "name": f"app{i}",
                "route_prefix": f"/app{i}",
                "import_path": "gitsync_bench_missing_module:app",
                "deployments": [{"name": "Model", "num_replicas": 1, "user_config": {"i": i}}],
            }
            for i in range(count)
        ],
    }


def start_engine(state_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            tool_path("gitsync"),
            "engine",
            "--listen",
            f"127.0.0.1:{port}",
            "--state-dir",
            str(state_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/api/ray/version").status_code == 200, 30, "gitsync")
    return proc


def start_ray(temp_dir: Path, gcs_port: int, dashboard_port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    proc = subprocess.Popen(
        [
            tool_path("ray"),
            "start",
            "--head",
            "--block",
            "--port",
            str(gcs_port),
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(dashboard_port),
            "--num-cpus",
            "2",
            "--disable-usage-stats",
            "--temp-dir",
            str(temp_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{dashboard_port}"
    wait_until(lambda: httpx.get(f"{url}/api/ray/version").status_code == 200, 120, "Ray")
    return proc


def statuses(client: httpx.Client, url: str) -> Counter[str]:
    apps = client.get(url + APPS, timeout=30).json().get("applications", {})
    return Counter(app["status"] for app in apps.values())


def settled(client: httpx.Client, url: str, count: int) -> bool:
    found = statuses(client, url)
    return found.total() == count and not found.keys() & {"DEPLOYING", "NOT_STARTED"}


def measure(
    client: httpx.Client, targets: dict[str, str], args: argparse.Namespace
) -> dict[str, tuple[float, float]]:
    """p50/p99 in ms per target; requests alternate between the targets, so both see
    the same machine load."""
    for _ in range(20):  # warm-up
        for url in targets.values():
            client.get(url + APPS).raise_for_status()
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(args.requests):
        for name, url in targets.items():
            started = time.perf_counter()
            client.get(url + APPS).raise_for_status()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {
        name: (statistics.median(values), statistics.quantiles(values, n=100)[98])
        for name, values in samples.items()
    }


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--settle", type=float, default=90, help="seconds to let apps settle")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitsync-bench-") as tmp:
        root = Path(tmp)
        engine_port = free_port()
        engine = start_engine(root / "state", engine_port)
        dashboard_port = free_port()
        # Ray's socket paths must stay short: a short temp dir of its own.
        ray_dir = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
        ray = start_ray(ray_dir, free_port(), dashboard_port)
        targets = {
            "gitsync": f"http://127.0.0.1:{engine_port}",
            "ray": f"http://127.0.0.1:{dashboard_port}",
        }
        results: dict[tuple[str, int], tuple[float, float]] = {}
        states: dict[tuple[str, int], dict[str, int]] = {}
        try:
            with httpx.Client(timeout=60) as client:
                for count in (1, 100):
                    config = deploy_config(count, free_port())
                    for url in targets.values():
                        client.put(url + APPS, json=config).raise_for_status()
                    for name, url in targets.items():
                        # Ray builds the apps on 2 CPUs; 100 builds may still be queued
                        # after the wait. The GET is measured either way, with the states.
                        wait_until(
                            functools.partial(settled, client, url, count),
                            args.settle,
                            f"{name} apps",
                            required=False,
                        )
                        states[(name, count)] = dict(statuses(client, url))
                    results.update(
                        {(name, count): r for name, r in measure(client, targets, args).items()}
                    )
        finally:
            stop(engine)
            stop(ray)
        print(f"GET {APPS} ({args.requests} requests each, same client, same run)")
        print(f"{'apps':>5} {'target':>8} {'p50 ms':>8} {'p99 ms':>8}  app states")
        for count in (1, 100):
            for name in targets:
                p50, p99 = results[(name, count)]
                print(f"{count:>5} {name:>8} {p50:>8.2f} {p99:>8.2f}  {states[(name, count)]}")
            ratio = results[("ray", count)][0] / results[("gitsync", count)][0]
            verdict = "ok" if ratio >= 5 else "BELOW TARGET"
            print(f"{count:>5} ratio p50 ray/gitsync = {ratio:.1f}x (target >= 5x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
