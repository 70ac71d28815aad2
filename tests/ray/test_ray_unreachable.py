"""Ray unreachable: the activation is recorded, the error reported, and the runtime
retries until Ray answers (here: a TCP forwarder to the cluster that starts late)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gitsync.engine import Engine
from gitsync.engine.ray import RayRuntime
from tests.testing.raycluster import RayCluster
from tests.testing.wait import free_port

pytestmark = pytest.mark.ray

CODE = b"""
from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class Hello:
    def __call__(self, request) -> str:
        return "hello from git"


app = Hello.bind()
"""


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, upstream: tuple[str, int]) -> None:
        self.upstream = upstream

        forwarder = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(forwarder.upstream, timeout=60) as up:
                    back = threading.Thread(target=_pump, args=(up, self.request), daemon=True)
                    back.start()
                    _pump(self.request, up)
                    back.join(timeout=60)

        super().__init__(("127.0.0.1", port), Handler)


@pytest.fixture
def late_port() -> Iterator[int]:
    yield free_port()


def test_activation_is_recorded_while_ray_is_unreachable_and_applied_once_it_answers(
    ray_cluster: RayCluster, late_port: int, tmp_path: Path
) -> None:
    proxy_port = free_port()
    config = {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": proxy_port},
        "applications": [
            {
                "name": "hello",
                "route_prefix": "/hello",
                "import_path": "hello:app",
                "runtime_env": {"working_dir": "./hello"},
            }
        ],
    }
    files = {"serve.yaml": yaml.safe_dump(config).encode(), "hello/hello.py": CODE}
    runtime = RayRuntime(f"http://127.0.0.1:{late_port}", health_timeout=300, max_backoff=1.0)
    with Engine(tmp_path / "state", runtime=runtime) as engine:
        result = engine.deploy_files(files)
        assert engine.history("default")[0].generation == result.generation
        deadline = time.monotonic() + 60
        while engine.live().runtime_error is None and time.monotonic() < deadline:
            time.sleep(0.1)
        state = engine.live()
        assert state.generation == result.generation
        assert state.runtime_error is not None
        # Which call met the closed port first (status poll or package check) is timing.
        what = state.runtime_error.split("(", 1)[1].split(")", 1)[0]
        assert what in ("status", "package check")
        assert state.runtime_error == (
            f"Ray dashboard at http://127.0.0.1:{late_port} is unreachable ({what}): "
            "[Errno 111] Connection refused"
        )
        [app] = state.applications
        # The desired config, saying it is deploying, with the runtime's reason.
        assert (app.name, app.status) == ("hello", "DEPLOYING")
        assert app.message == (
            f"Generation {result.generation} is being deployed to Ray; Ray has not reported "
            f"it yet.\n{state.runtime_error}"
        )
        assert engine.history("default")[0].health == "pending"
        # Ray comes back (on the address the runtime was given): nothing was lost.
        host, port = ray_cluster.dashboard.removeprefix("http://").split(":")
        forwarder = Forwarder(late_port, (host, int(port)))
        threading.Thread(target=forwarder.serve_forever, daemon=True).start()
        try:
            entry = engine.wait_settled("default", result.generation, 300)
            assert entry is not None and entry.health == "healthy"
            assert engine.live().runtime_error is None
            # http_options apply when Serve first starts: ask Ray where its proxy is.
            ray_state = httpx.get(f"{ray_cluster.dashboard}/api/serve/applications/").json()
            proxy = f"http://127.0.0.1:{ray_state['http_options']['port']}"
            answer = httpx.get(f"{proxy}/hello", timeout=30)
            assert (answer.status_code, answer.text) == (200, "hello from git")
        finally:
            engine.close()
            forwarder.shutdown()
            forwarder.server_close()
