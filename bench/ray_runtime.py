"""Bench: the same config change through gitsync (engine + Ray runtime) and through a
plain ``serve deploy`` against the same Ray cluster, in the same run.

Two changes: a ``user_config`` change (in place) and a new application. For each, the
time from the request until the changed application is RUNNING with the new config:

* gitsync: ``Engine.deploy_files`` (prepare, SQLite activation, code zip, upload
  check, PUT) until the health gate says healthy (``Engine.wait_settled``);
* Ray REST: the ``PUT /api/serve/applications/`` that ``serve deploy`` sends, then
  polling ``GET`` with the same rule as the gate;
* serve CLI: the real ``serve deploy`` command (adds the CLI's own start-up).

Usage: ``python bench/ray_runtime.py [--ray-address URL] [--rounds N]``; without an
address a private cluster is started (and stopped) as reference/ray-local.md says.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.testing

from gitsync.engine import AppId, Engine
from gitsync.engine.ray import RayRuntime
from gitsync.engine.ray_gate import SETTLE_S
from gitsync.engine.ray_live import gate_verdict
from tests.testing.raycluster import start_cluster
from tests.testing.tools import tool_path
from tests.testing.wait import free_port

POLL_S = 0.05
CODE = b"""
from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class Echo:
    def __init__(self) -> None:
        self.word = ""

    def reconfigure(self, config: dict) -> None:
        self.word = str(config.get("word", ""))

    def __call__(self, request) -> str:
        return self.word


app = Echo.bind()
"""


def app_entry(name: str, word: str) -> dict[str, Any]:
    return {
        "name": name,
        "route_prefix": f"/{name}",
        "import_path": "echo:app",
        "runtime_env": {"working_dir": "./echo"},
        "deployments": [
            {"name": "Echo", "num_replicas": 1, "user_config": {"word": word}},
        ],
    }


def files_of(port: int, apps: list[dict[str, Any]]) -> dict[str, bytes]:
    config = {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": port},
        "applications": apps,
    }
    return {"serve.yaml": yaml.safe_dump(config).encode(), "echo/echo.py": CODE}


def wait_running(dashboard: str, names: list[str], sent: dict[str, Any], put_done: float) -> None:
    deadline = time.monotonic() + 600
    with httpx.Client(base_url=dashboard, timeout=30) as http:
        while time.monotonic() < deadline:
            started = time.monotonic()
            state = http.get("/api/serve/applications/").json()
            if started >= put_done + SETTLE_S:
                verdict = gate_verdict(names, sent, state)
                if verdict is not None:
                    if not verdict[0]:
                        raise RuntimeError(verdict[1])
                    return
            time.sleep(POLL_S)
    raise RuntimeError(f"{names} did not become RUNNING with the new config in 600 s")


def through_gitsync(engine: Engine, files: dict[str, bytes]) -> float:
    start = time.perf_counter()
    result = engine.deploy_files(files)
    entry = engine.wait_settled("default", result.generation, 600)
    elapsed = time.perf_counter() - start
    if entry is None or entry.health != "healthy":
        raise RuntimeError(f"gitsync gate: {entry}")
    return elapsed


def through_rest(dashboard: str, config: dict[str, Any], names: list[str]) -> float:
    start = time.perf_counter()
    response = httpx.put(f"{dashboard}/api/serve/applications/", json=config, timeout=60)
    response.raise_for_status()
    wait_running(dashboard, names, config, time.monotonic())
    return time.perf_counter() - start


def through_cli(dashboard: str, config: dict[str, Any], names: list[str], tmp: Path) -> float:
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    start = time.perf_counter()
    subprocess.run(
        [tool_path("serve"), "deploy", str(path), "-a", dashboard],
        check=True,
        capture_output=True,
    )
    wait_running(dashboard, names, config, time.monotonic())
    return time.perf_counter() - start


def with_change(sent: dict[str, Any], change: str, tag: str) -> tuple[dict[str, Any], list[str]]:
    """The config gitsync last sent, with the same kind of change applied directly."""
    config = json.loads(json.dumps(sent))
    base = config["applications"][0]
    if change == "user_config":
        base["deployments"][0]["user_config"] = {"word": tag}
        return config, [base["name"]]
    extra = json.loads(json.dumps(base))
    extra.update(name=tag, route_prefix=f"/{tag}")
    config["applications"] = [base, extra]
    return config, [tag]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ray-address")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cluster = None if args.ray_address else start_cluster(num_cpus=2)
    dashboard = args.ray_address or (cluster.dashboard if cluster else "")
    port = free_port()
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runtime = RayRuntime(dashboard, health_timeout=600, gate_poll_interval=POLL_S)
        engine = Engine(Path(tmp) / "state", runtime=runtime).open()
        try:
            print(f"Ray at {dashboard}; warming up (first deploy, imports, proxy)...")
            through_gitsync(engine, files_of(port, [app_entry("base", "w0")]))
            word = "w0"
            for round_no in range(1, args.rounds + 1):
                for change in ("user_config", "new_app"):
                    # gitsync: the change as a new package through the engine.
                    tag = f"g{round_no}"
                    if change == "user_config":
                        word = f"{change}-{tag}"
                        apps = [app_entry("base", word)]
                    else:
                        apps = [app_entry("base", word), app_entry(f"new{tag}", "x")]
                    seconds = through_gitsync(engine, files_of(port, apps))
                    times.setdefault((change, "gitsync"), []).append(seconds)
                    sent = runtime.sent_config(AppId("default"))
                    assert sent is not None
                    # Plain Ray, same change on the same cluster: REST, then the CLI.
                    for how in ("ray REST PUT", "serve deploy CLI"):
                        base_sent = {**sent, "applications": sent["applications"][:1]}
                        suffix = "r" if how.startswith("ray") else "c"
                        config, names = with_change(base_sent, change, f"new{suffix}{round_no}")
                        if how.startswith("ray"):
                            seconds = through_rest(dashboard, config, names)
                        else:
                            seconds = through_cli(dashboard, config, names, Path(tmp))
                        times.setdefault((change, how), []).append(seconds)
                    # Back to the engine's state before the next round.
                    engine.reapply("default")
                    names = [str(a["name"]) for a in sent["applications"]]
                    wait_running(dashboard, names, sent, time.monotonic())
        finally:
            engine.close()
            if cluster is not None:
                cluster.stop()
    print(f"\ntime until RUNNING, median of {args.rounds} (seconds)")
    print(f"{'change':<12} {'path':<18} {'median':>8} {'all':>30}")
    for (change, how), values in times.items():
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"{change:<12} {how:<18} {statistics.median(values):8.2f} {runs:>30}")
    for change in ("user_config", "new_app"):
        ours = statistics.median(times[(change, "gitsync")])
        ray = statistics.median(times[(change, "ray REST PUT")])
        print(f"{change}: gitsync adds {100 * (ours - ray) / ray:+.1f} % to Ray's own time")


if __name__ == "__main__":
    main()
