"""Ray's own REST and CLI tests that need replicas, re-expressed against gitsync in front
of a real Ray cluster (runtime ``ray``). Named after the Ray test each re-expresses
(``test_serve_dashboard.py``, ``test_cli*.py``); the ones that need no replicas, and the
list of Ray tests that do not apply, are in ``tests/api/test_ray_rest_parity.py``.

The tests run in order on one engine: the code is a tiny module uploaded to the cluster
as ``gcs://`` (as a Ray user's ``working_dir`` would be), so REST bodies name it by URI.
"""

from __future__ import annotations

import io
import subprocess
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gitsync.engine import Engine
from gitsync.engine.ray import RayRuntime
from tests.testing.api import run_server
from tests.testing.raycluster import RayCluster
from tests.testing.tools import tool_path
from tests.testing.wait import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ray.serve.schema import ServeInstanceDetails

pytestmark = pytest.mark.ray

WAIT_S = 240.0  # the machine is shared: generous bounds, never a timing assertion
APPS = "/api/serve/applications/"
CODE = b"""from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0.05})
class Hello:
    def __call__(self, request):
        return "hello"


app = Hello.bind()
"""
PACKAGE = "_gitsync_test_hello.zip"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.py", CODE)
    return buffer.getvalue()


@dataclass
class Stack:
    engine: Engine
    api: str  # gitsync's engine API
    ray: str  # Ray's dashboard
    port: int  # the Serve HTTP port of the first config

    def app(self, name: str, route: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "route_prefix": route,
            "import_path": "hello:app",
            "runtime_env": {"working_dir": f"gcs://{PACKAGE}"},
            "deployments": [{"name": "Hello", "num_replicas": 1}],
            **extra,
        }

    def config(self, *apps: dict[str, Any], port: int | None = None) -> dict[str, Any]:
        http = {"host": "127.0.0.1", "port": port or self.port}
        return {"http_options": http, "applications": list(apps)}

    def ours(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.api + APPS, timeout=30).json()
        return body

    def rays(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.ray + APPS, timeout=30).json()
        return body

    def wait(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.3)
        raise AssertionError(f"never: {what}; gitsync: {self.ours()}; Ray: {self.rays()}")

    def running(self, *names: str) -> bool:
        apps = self.ours()["applications"]
        return all(apps.get(n, {}).get("status") == "RUNNING" for n in names)

    def settle(self) -> int:
        """Wait for the gate's verdict on the active generation; its generation."""
        generation = self.engine.live().generation
        entry = self.engine.wait_settled("default", generation, WAIT_S)
        assert entry is not None and entry.health != "pending"
        return generation


@pytest.fixture(scope="module")
def stack(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    upload = httpx.put(f"{ray_cluster.dashboard}/api/packages/gcs/{PACKAGE}", content=_zip())
    assert upload.status_code == 200, upload.text
    runtime = RayRuntime(ray_cluster.dashboard, health_timeout=WAIT_S, poll_interval=0.5)
    engine = Engine(tmp_path_factory.mktemp("state"), runtime=runtime).open()
    try:
        with run_server(engine.state_dir, engine=engine) as live:
            yield Stack(engine, live.url, ray_cluster.dashboard, free_port())
    finally:
        httpx.delete(ray_cluster.dashboard + APPS, timeout=60)  # leave Ray as found
        engine.close()


_INSTANCE_FIELDS = (
    "controller_info",
    "proxy_location",
    "http_options",
    "grpc_options",
    "proxies",
    "target_groups",
)


def test_put_get_multi_app(stack: Stack) -> None:
    config = stack.config(stack.app("app1", "/app1"), stack.app("app2", "/app2"))
    assert httpx.put(stack.api + APPS, json=config, timeout=60).status_code == 200
    # Read-your-writes: the new config at once, saying it is deploying until Ray confirms.
    first = stack.ours()["applications"]
    assert set(first) == {"app1", "app2"}
    for name, app in first.items():
        assert app["status"] in ("DEPLOYING", "RUNNING"), app
        assert {k: v for k, v in app["deployed_app_config"].items()} == next(
            a for a in config["applications"] if a["name"] == name
        )
    stack.wait("both RUNNING", lambda: stack.running("app1", "app2"))
    assert stack.settle() == stack.engine.live().generation

    def same_as_ray() -> bool:
        ours, rays = stack.ours(), stack.rays()
        fields = all(ours.get(k) == rays.get(k) for k in _INSTANCE_FIELDS)
        return fields and ours["applications"] == rays["applications"]

    stack.wait("gitsync's GET equals Ray's own", same_as_ray)
    details = ServeInstanceDetails(**stack.ours())
    assert details.controller_info.log_file_path
    assert details.http_options is not None and details.http_options.port == stack.port
    hello = details.applications["app1"].deployments["Hello"]
    assert len(hello.replicas) == 1 and hello.replicas[0].state.value == "RUNNING"


def test_get_shows_the_new_config_right_after_a_put(stack: Stack) -> None:
    changed = stack.config(
        stack.app("app1", "/app1", deployments=[{"name": "Hello", "num_replicas": 2}]),
        stack.app("app2", "/app2"),
    )
    assert httpx.put(stack.api + APPS, json=changed, timeout=60).status_code == 200
    app1 = stack.ours()["applications"]["app1"]
    assert app1["deployed_app_config"]["deployments"] == [{"name": "Hello", "num_replicas": 2}]
    assert app1["status"] in ("DEPLOYING", "RUNNING")
    if app1["status"] == "DEPLOYING":
        assert app1["message"].startswith("Generation ")
    stack.wait("app1 RUNNING with 2 replicas", lambda: stack.running("app1"))
    stack.settle()


def test_a_start_only_option_shows_as_serve_runs_it(stack: Stack) -> None:
    """A new HTTP port applies when Serve restarts: the GET keeps saying the port Serve
    runs on (Ray's own answer), as `gitsync diff` says of the change."""
    moved = stack.config(stack.app("app1", "/app1"), stack.app("app2", "/app2"), port=free_port())
    assert httpx.put(stack.api + APPS, json=moved, timeout=60).status_code == 200
    stack.settle()
    assert stack.engine.live().config is not None
    assert stack.ours()["http_options"]["port"] == stack.port
    assert stack.rays()["http_options"]["port"] == stack.port


def test_scale_deployment_endpoint_comprehensive(stack: Stack) -> None:
    config = stack.config(
        stack.app("test_app", "/test", external_scaler_enabled=True),
    )
    assert httpx.put(stack.api + APPS, json=config, timeout=60).status_code == 200
    stack.wait("test_app RUNNING", lambda: stack.running("test_app"))
    stack.settle()
    url = f"{stack.api}/api/v1/applications/test_app/deployments/Hello/scale"
    response = httpx.post(url, json={"target_num_replicas": 2}, timeout=60)
    assert response.status_code == 200, response.text
    history = stack.engine.history("default")[0]
    assert history.meta["source"] == "scale" and history.summary["scale"] == 1

    def ray_target() -> int:
        app = stack.rays()["applications"].get("test_app") or {}
        target = app.get("deployments", {}).get("Hello", {}).get("target_num_replicas", 0)
        return int(target)

    stack.wait("Ray's own target is 2", lambda: ray_target() == 2)
    stack.settle()


def test_delete_multi_app(stack: Stack) -> None:
    assert httpx.delete(stack.api + APPS, timeout=60).status_code == 200
    # Ray's own delete: Serve shut down (no controller), not just the apps removed.
    stack.wait("Serve shut down on Ray", lambda: stack.rays()["controller_info"] == {})
    assert stack.ours()["applications"] == {}
    # So the next deploy's port takes effect.
    port = free_port()
    config = stack.config(stack.app("app1", "/app1"), port=port)
    assert httpx.put(stack.api + APPS, json=config, timeout=60).status_code == 200
    stack.wait("app1 RUNNING", lambda: stack.running("app1"))
    assert stack.rays()["http_options"]["port"] == port
    stack.wait("gitsync reports Ray's port", lambda: stack.ours()["http_options"]["port"] == port)
    stack.port = port
    stack.settle()


def test_rollback_never_revives_what_was_deleted(stack: Stack) -> None:
    """After a shutdown, a failed deploy is not rolled back to the apps deleted before."""
    assert httpx.delete(stack.api + APPS, timeout=60).status_code == 200
    stack.wait("Serve shut down on Ray", lambda: stack.rays()["controller_info"] == {})
    broken = stack.config(stack.app("broken", "/broken", import_path="hello:nope"))
    assert httpx.put(stack.api + APPS, json=broken, timeout=60).status_code == 200
    failed = stack.settle()
    entry = stack.engine.history("default")[0]
    assert (entry.generation, entry.health) == (failed, "failed")
    assert "no automatic rollback: nothing was active before this generation" in (
        entry.health_message
    )
    assert "app1" not in stack.rays()["applications"]

    # A generation that removed every application is what a failure goes back to.
    good = stack.config(stack.app("app1", "/app1"))
    assert httpx.put(stack.api + APPS, json=good, timeout=60).status_code == 200
    stack.settle()
    empty = stack.config()
    assert httpx.put(stack.api + APPS, json=empty, timeout=60).status_code == 200
    emptied = stack.settle()
    assert httpx.put(stack.api + APPS, json=broken, timeout=60).status_code == 200
    failed = stack.settle()
    stack.wait("a rollback", lambda: stack.engine.history("default")[0].kind == "rollback")
    rollback = stack.engine.history("default")[0]
    assert rollback.rollback_of == emptied and rollback.generation > failed
    stack.settle()
    stack.wait(
        "no application on Ray",
        lambda: not {"app1", "broken"} & set(stack.rays()["applications"]),
    )
    assert stack.ours()["applications"] == {}


def test_shutdown(stack: Stack) -> None:
    """`serve shutdown` against gitsync leaves Ray as against Ray: here Serve runs on Ray
    (deployed straight to Ray) while gitsync's unit holds nothing."""
    assert httpx.delete(stack.api + APPS, timeout=60).status_code == 200
    direct = stack.config(stack.app("direct", "/direct"))
    assert httpx.put(stack.ray + APPS, json=direct, timeout=60).status_code == 200
    stack.wait("Serve runs on Ray", lambda: bool(stack.rays()["controller_info"]))
    stack.wait("gitsync shows Ray's controller", lambda: bool(stack.ours()["controller_info"]))
    done = subprocess.run(
        [tool_path("serve"), "shutdown", "-y", "-a", stack.api],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "No Serve instance found" not in done.stdout + done.stderr
    stack.wait("Serve shut down on Ray", lambda: stack.rays()["controller_info"] == {})


def test_a_replica_waiting_to_be_scheduled_is_explained_in_rays_words(stack: Stack) -> None:
    """Ray explains a replica it cannot place (resources needed and available) in the
    deployment's message; gitsync's GET and `gitsync status` give the same words."""
    too_big = [{"name": "Hello", "num_replicas": 1, "ray_actor_options": {"num_cpus": 64}}]
    config = stack.config(stack.app("big", "/big", deployments=too_big))
    assert httpx.put(stack.api + APPS, json=config, timeout=60).status_code == 200

    def rays_words() -> str:
        app = stack.rays()["applications"].get("big") or {}
        return str(app.get("deployments", {}).get("Hello", {}).get("message", ""))

    stack.wait("Ray explains the pending replica", lambda: "to be scheduled" in rays_words())

    def ours() -> str:
        app = stack.ours()["applications"].get("big") or {}
        return str(app.get("deployments", {}).get("Hello", {}).get("message", ""))

    stack.wait("gitsync's GET gives Ray's words", lambda: "to be scheduled" in ours())
    assert "Resources required for each replica" in ours()
    [big] = stack.engine.live().applications
    assert big.status == "DEPLOYING"
    assert "to be scheduled" in big.explanation()  # what `gitsync status` prints
    assert httpx.delete(stack.api + APPS, timeout=60).status_code == 200
