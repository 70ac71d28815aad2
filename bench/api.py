"""Benchmark: ``GET /api/serve/applications/`` on the gitsync engine vs a real Ray cluster,
and gitsync's own live view (``GET /api/gitsync/v1/.../live``) of 1,000 applications.

Starts ``gitsync engine`` and a private Ray head (reference/ray-local.md: loopback,
private ports, a fresh temp dir, 2 CPUs; stopped with SIGINT to the ``ray start
--block`` process, never ``ray stop``), deploys the same 1-application and
100-application configs to both, and measures the GET from one httpx client in the
same run, alternating requests between them. The apps' import path does not
exist, so Ray marks them DEPLOY_FAILED once their build fails (or still DEPLOYING
with 100 builds queued on 2 CPUs): the GET's cost is what is measured. Prints
p50/p99, the engine's CPU per request, and the ratio (target: gitsync at least 5x
faster at p50 for both sizes). Then the live view that the agent and ``gitsync diff``
read, of a unit of 1,000 applications of five deployments each (bench/gen_config.py;
gitsync only: Ray has no such route).

``--no-ray`` measures gitsync alone (no Ray start: the same figures without Ray's
load on the machine). ``--baseline-tree DIR`` also starts the engine of another
source tree (a checkout of an earlier commit) and alternates requests with it, so
before and after come from one run:

    python bench/api.py [--requests 300] [--settle 90] [--no-ray]
        [--baseline-tree /path/to/checkout] [--live-apps 1000] [--live-requests 40]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.testing
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for gen_config

from gen_config import generate_config  # a sibling script, not a package

from tests.testing.tools import tool_path
from tests.testing.wait import free_port

APPS = "/api/serve/applications/"
LIVE = "/api/gitsync/v1/tenant/default/application/default/live"


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


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    pid: int  # the server's process, whose CPU time is read
    gitsync: bool  # serves gitsync's own routes


def start_engine(state_dir: Path, port: int, tree: Path | None = None) -> subprocess.Popen[bytes]:
    """``gitsync engine`` of this environment, or that of the source tree ``tree`` (its
    ``gitsync`` first on ``PYTHONPATH``)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [
            tool_path("gitsync"),
            "engine",
            "--listen",
            f"127.0.0.1:{port}",
            "--state-dir",
            str(state_dir),
        ],
        env=env,
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


def cpu_seconds(pid: int) -> float | None:
    """CPU time of a process's live threads (Linux's per-thread schedstat, in ns; the
    server's event loop and worker threads outlive a measurement, so the difference
    over one is its CPU time). None where there is no /proc."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


@dataclass(frozen=True)
class Figures:
    p50: float
    p99: float
    cpu_ms: float | None  # the server's CPU per request


def measure(
    client: httpx.Client,
    targets: list[Target],
    path: str,
    requests: int,
    warmup: int = 20,
    between: Callable[[Target], None] | None = None,
) -> dict[str, Figures]:
    """Wall p50/p99 in ms and the server's CPU ms per request, per target; requests
    alternate between the targets, so all see the same machine load. ``between`` runs
    before each request, untimed (its CPU is left out: the server's CPU is then read
    around each request)."""
    for _ in range(warmup):
        for target in targets:
            client.get(target.url + path).raise_for_status()
    samples: dict[str, list[float]] = {target.name: [] for target in targets}
    cpu: dict[str, float | None] = {target.name: 0.0 for target in targets}
    cpu_before = {target.name: cpu_seconds(target.pid) for target in targets}
    for index in range(requests):
        # Each round in the other order: asked always second, a server measured a few
        # percent faster here than asked first, whichever server it was.
        for target in targets if index % 2 == 0 else targets[::-1]:
            if between is not None:
                between(target)
                before = cpu_seconds(target.pid)
            started = time.perf_counter()
            client.get(target.url + path).raise_for_status()
            samples[target.name].append((time.perf_counter() - started) * 1000)
            if between is not None:
                cpu[target.name] = _added(cpu[target.name], before, cpu_seconds(target.pid))
    figures: dict[str, Figures] = {}
    for target in targets:
        values = samples[target.name]
        if between is None:
            cpu[target.name] = _added(0.0, cpu_before[target.name], cpu_seconds(target.pid))
        total = cpu[target.name]
        per_request = None if total is None else total * 1000 / requests
        p99 = statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]
        figures[target.name] = Figures(statistics.median(values), p99, per_request)
    return figures


def _added(total: float | None, before: float | None, after: float | None) -> float | None:
    if total is None or before is None or after is None:
        return None
    return total + after - before


def commit_something(client: httpx.Client) -> Callable[[Target], None]:
    """A commit on the target's store (a tenant created, then deleted): the next read
    cannot be one kept for the state before."""
    created: set[str] = set()

    def commit(target: Target) -> None:
        url = f"{target.url}/application/v2/tenant/bench-commit"
        if target.name in created:
            client.delete(url).raise_for_status()
            created.discard(target.name)
        else:
            client.put(url).raise_for_status()
            created.add(target.name)

    return commit


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


@contextlib.contextmanager
def servers(root: Path, args: argparse.Namespace) -> Iterator[list[Target]]:
    """This tree's engine, the baseline tree's (``--baseline-tree``) and Ray (unless
    ``--no-ray``), stopped on the way out."""
    procs: list[subprocess.Popen[bytes]] = []
    targets: list[Target] = []
    try:
        trees: list[tuple[str, Path | None]] = [("gitsync", None)]
        if args.baseline_tree is not None:
            trees.append(("baseline", args.baseline_tree))
        for name, tree in trees:
            port = free_port()
            proc = start_engine(root / f"state-{name}", port, tree)
            procs.append(proc)
            targets.append(Target(name, f"http://127.0.0.1:{port}", proc.pid, gitsync=True))
        if not args.no_ray:
            dashboard_port = free_port()
            # Ray's socket paths must stay short: a short temp dir of its own.
            ray_dir = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
            proc = start_ray(ray_dir, free_port(), dashboard_port)
            procs.append(proc)
            url = f"http://127.0.0.1:{dashboard_port}"
            targets.append(Target("ray", url, proc.pid, gitsync=False))
        yield targets
    finally:
        for proc in procs:
            stop(proc)


def deploy(
    client: httpx.Client, targets: list[Target], config: dict[str, Any], settle: float
) -> dict[str, str]:
    """Deploy ``config`` to every target; the app states each reports."""
    count = len(config["applications"])
    for target in targets:
        client.put(target.url + APPS, json=config, timeout=600).raise_for_status()
    states: dict[str, str] = {}
    for target in targets:
        # Ray builds the apps on 2 CPUs; 100 builds may still be queued after the
        # wait. The GET is measured either way, with the states.
        check = functools.partial(settled, client, target.url, count)
        wait_until(check, settle, f"{target.name} apps", required=False)
        states[target.name] = str(dict(statuses(client, target.url)))
    return states


def report(title: str, rows: list[tuple[str, str, Figures, str]], last: str) -> None:
    print(title)
    print(f"{'apps':>5} {'target':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7}  {last}")
    for size, name, figures, states in rows:
        cpu = f"{figures.cpu_ms:>7.2f}" if figures.cpu_ms is not None else f"{'-':>7}"
        print(f"{size:>5} {name:>8} {figures.p50:>8.2f} {figures.p99:>8.2f} {cpu}  {states}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--settle", type=float, default=90, help="seconds to let apps settle")
    parser.add_argument("--no-ray", action="store_true", help="measure gitsync alone")
    parser.add_argument(
        "--baseline-tree", type=Path, help="also run the engine of this source tree"
    )
    parser.add_argument("--live-apps", type=int, default=1000, help="0: skip the live view")
    parser.add_argument("--live-requests", type=int, default=40)
    args = parser.parse_args()
    serve_rows: list[tuple[str, str, Figures, str]] = []
    live_rows: list[tuple[str, str, Figures, str]] = []
    live_states: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="gitsync-bench-") as tmp,
        servers(Path(tmp), args) as targets,
        httpx.Client(timeout=60) as client,
    ):
        for count in (1, 100):
            states = deploy(client, targets, deploy_config(count, free_port()), args.settle)
            figures = measure(client, targets, APPS, args.requests)
            serve_rows += [(str(count), t.name, figures[t.name], states[t.name]) for t in targets]
        own = [target for target in targets if target.gitsync]
        if args.live_apps > 0:
            live_states = deploy(client, own, generate_config(args.live_apps), args.settle)
            figures = measure(client, own, LIVE, args.live_requests, warmup=3)
            live_rows += [(str(args.live_apps), t.name, figures[t.name], "unchanged") for t in own]
            commit = commit_something(client)
            figures = measure(client, own, LIVE, args.live_requests, warmup=1, between=commit)
            live_rows += [
                (str(args.live_apps), t.name, figures[t.name], "a commit before each") for t in own
            ]
    title = f"GET {APPS} ({args.requests} requests each, same client, same run)"
    report(title, serve_rows, "app states")
    by_name = {(size, name): figures for size, name, figures, _ in serve_rows}
    for size in ("1", "100"):
        if ("ray", size) in by_name:
            ratio = by_name[("ray", size)].p50 / by_name[("gitsync", size)].p50
            verdict = "ok" if ratio >= 5 else "BELOW TARGET"
            print(f"{size:>5} ratio p50 ray/gitsync = {ratio:.1f}x (target >= 5x: {verdict})")
    if live_rows:
        apps = f"{args.live_apps} applications, {live_states['gitsync']}"
        report(f"\nGET {LIVE} ({args.live_requests} requests each; {apps})", live_rows, "state")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
