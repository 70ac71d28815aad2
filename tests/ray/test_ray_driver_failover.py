"""Two ``gitsync engine --runtime ray`` processes on one PostgreSQL database and one
real Ray cluster: the lease holder drives Ray whichever engine takes the deploy; killed
(SIGKILL) while a generation it sent is still being gated, the other engine takes the
lease, finishes that gate without sending the generation again, and sends the next."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitsync.engine.records import AppId
from gitsync.engine.runtime_lease import LEASE_TTL_S
from gitsync.engine.store import Store, locate
from tests.testing.engine import EngineProcess
from tests.testing.postgres import PostgresServer
from tests.testing.raycluster import RayCluster
from tests.testing.wait import free_port

pytestmark = pytest.mark.ray

WAIT_S = 240.0  # the machine is shared: generous bounds, never a timing assertion
APPS = "/api/serve/applications/"
HISTORY = "/api/gitsync/v1/tenant/default/application/default/history"
UNIT = AppId("default", "default", "default")
PACKAGE = "_gitsync_test_failover.zip"
CODE = b"""from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0.05})
class Hello:
    def __init__(self):
        self.word = "hello"

    def reconfigure(self, config):
        self.word = config.get("word", "hello")

    def __call__(self, request):
        return self.word


app = Hello.bind()
"""


def config(word: str, port: int) -> dict[str, Any]:
    hello = {"name": "Hello", "num_replicas": 1, "user_config": {"word": word}}
    return {
        "http_options": {"host": "127.0.0.1", "port": port},
        "applications": [
            {
                "name": "failover",
                "route_prefix": "/failover",
                "import_path": "hello:app",
                "runtime_env": {"working_dir": f"gcs://{PACKAGE}"},
                "deployments": [hello],
            }
        ],
    }


def wait(what: str, check: Callable[[], bool], timeout: float = WAIT_S) -> float:
    """Seconds until ``check`` held."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def driver(node: EngineProcess) -> dict[str, Any]:
    body = httpx.get(node.url + "/state/v1/health", timeout=10).json()
    found: dict[str, Any] = body["runtimeDriver"]
    return found


def ray_runs(dashboard: str, word: str) -> bool:
    apps = httpx.get(dashboard + APPS, timeout=30).json().get("applications") or {}
    app = apps.get("failover") or {}
    deployments = (app.get("deployed_app_config") or {}).get("deployments") or [{}]
    running = app.get("status") == "RUNNING"
    return bool(running and deployments[0].get("user_config") == {"word": word})


def health_of(node: EngineProcess, generation: int) -> str:
    entries = httpx.get(node.url + HISTORY, timeout=30).json()
    return str(next(e["health"] for e in entries if e["generation"] == generation))


def ours(node: EngineProcess) -> Any:
    """The user_config the engine's Serve GET shows for the application."""
    app = httpx.get(node.url + APPS, timeout=30).json()["applications"]["failover"]
    return app["deployed_app_config"]["deployments"][0].get("user_config")


class Sent:
    """The store's runtime_sent, read as another process would."""

    def __init__(self, url: str, path: Path) -> None:
        self.store = Store(locate(path, url))
        self.store.open(time.time())

    def __call__(self) -> tuple[int, int]:
        return self.store.sent_generations().get(UNIT, (0, 0))


@pytest.fixture
def two_engines(
    ray_cluster: RayCluster, postgres: PostgresServer, tmp_path: Path
) -> Iterator[tuple[EngineProcess, EngineProcess, Sent]]:
    upload = httpx.put(f"{ray_cluster.dashboard}/api/packages/gcs/{PACKAGE}", content=_zip())
    assert upload.status_code == 200, upload.text
    url = postgres.create_database()
    extra = ["--store", url, "--runtime", "ray", "--ray-address", ray_cluster.dashboard]
    extra += ["--health-timeout", str(WAIT_S)]
    nodes = [EngineProcess(tmp_path / n, tmp_path / f"{n}.log", extra=extra) for n in "ab"]
    sent = Sent(url, tmp_path / "reader")
    try:
        nodes[0].start()
        wait("the first engine to drive Ray", lambda: driver(nodes[0])["thisEngine"], 30)
        nodes[1].start()
        yield nodes[0], nodes[1], sent
    finally:
        for node in nodes:
            node.stop()
        sent.store.close()
        httpx.delete(ray_cluster.dashboard + APPS, timeout=60)  # leave Ray as found


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.py", CODE)
    return buffer.getvalue()


def test_the_other_engine_takes_over_ray_without_sending_twice(
    ray_cluster: RayCluster, two_engines: tuple[EngineProcess, EngineProcess, Sent]
) -> None:
    first, second, sent = two_engines
    port = free_port()
    assert not driver(second)["thisEngine"]
    epoch_a = driver(second)["epoch"]

    # A deploy through the engine that does not drive reaches Ray by the one that does.
    put = httpx.put(second.url + APPS, json=config("one", port), timeout=60)
    assert put.status_code == 200, put.text
    wait("Ray to run the first generation", lambda: ray_runs(ray_cluster.dashboard, "one"))
    g1 = sent()[0]
    wait("its gate to pass", lambda: health_of(second, g1) == "healthy")
    assert sent() == (g1, epoch_a)

    # The next one: once the driver has recorded it as sent, kill the driver while
    # its gate is still under way.
    put = httpx.put(second.url + APPS, json=config("two", port), timeout=60)
    assert put.status_code == 200, put.text
    assert ours(second) == {"word": "two"}  # read-your-writes on an engine that does not drive
    g2 = g1 + 1
    wait("the driver to send it", lambda: sent() == (g2, epoch_a), 30)
    first.kill()
    killed = time.monotonic()
    wait("the other engine to drive Ray", lambda: driver(second)["thisEngine"], 60)
    took_over = time.monotonic() - killed
    assert took_over < LEASE_TTL_S + 30  # within seconds (generous: a shared machine)
    assert driver(second)["epoch"] > epoch_a

    # It finishes the gate of what was under way, and never sends it again.
    wait("Ray to run the second generation", lambda: ray_runs(ray_cluster.dashboard, "two"))
    wait("the gate of the second", lambda: health_of(second, g2) == "healthy")
    assert sent() == (g2, epoch_a)

    # The next deploy reaches Ray through the new driver.
    put = httpx.put(second.url + APPS, json=config("three", port), timeout=60)
    assert put.status_code == 200, put.text
    wait("Ray to run the third generation", lambda: ray_runs(ray_cluster.dashboard, "three"))
    g3 = g2 + 1
    assert sent() == (g3, driver(second)["epoch"])
    wait("the gate of the third", lambda: health_of(second, g3) == "healthy")
    print(f"SIGKILL of the driving engine -> the other drives Ray: {took_over:.1f} s")
