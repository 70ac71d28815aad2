"""A private Ray cluster for tests and benches (reference/ray-local.md).

Loopback only, every port chosen free, a fresh temp dir; stopped by SIGINT to the
``ray start --block`` process (never ``ray stop``: that kills other runs' clusters).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.testing.tools import tool_path
from tests.testing.wait import free_port


@dataclass
class RayCluster:
    process: subprocess.Popen[bytes]
    dashboard: str  # http://127.0.0.1:<port>
    temp_dir: Path
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start_cluster(
    num_cpus: int = 2,
    timeout: float = 90.0,
    *,
    env: Mapping[str, str] | None = None,
    token: str | None = None,
) -> RayCluster:
    """``env``: more variables for the cluster (``RAY_AUTH_MODE=token`` and its token);
    ``token``: the bearer token the readiness probe sends to such a cluster."""
    temp_dir = Path(tempfile.mkdtemp(prefix="gsray", dir="/tmp"))
    dashboard_port = free_port()
    args = [
        tool_path("ray"), "start", "--head", "--block",
        "--port", str(free_port()),
        "--dashboard-host", "127.0.0.1",
        "--dashboard-port", str(dashboard_port),
        "--dashboard-agent-listen-port", str(free_port()),
        "--ray-client-server-port", str(free_port()),
        "--num-cpus", str(num_cpus),
        "--disable-usage-stats",
        "--temp-dir", str(temp_dir),
    ]  # fmt: skip
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        # Serve explains a replica it cannot schedule after this many seconds (30 by
        # default): short, so the tests can see Ray's own words without waiting.
        "RAY_SERVE_SLOW_STARTUP_WARNING_S": "2",
        "RAY_SERVE_SLOW_STARTUP_WARNING_PERIOD_S": "2",
        **(env or {}),
    }
    log = temp_dir / "ray-start.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    cluster = RayCluster(process, f"http://127.0.0.1:{dashboard_port}", temp_dir, log)
    probe = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if (
                httpx.get(
                    cluster.dashboard + "/api/ray/version", headers=probe, timeout=2
                ).status_code
                == 200
            ):
                return cluster
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    text = log.read_text(errors="replace")[-3000:]
    cluster.stop()
    raise RuntimeError(f"the Ray dashboard did not answer in time:\n{text}")
