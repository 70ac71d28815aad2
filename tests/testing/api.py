"""Helpers and fixtures for the API tests: a real engine API on an ephemeral 127.0.0.1 port
(uvicorn in a thread), packages the real ``vespa`` CLI accepts, and CLI runners."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from gitsync.api.app import ApiSettings
from gitsync.api.server import ListenAddress, bound_port, build_server
from gitsync.config import package
from gitsync.engine import Engine

SERVICES_XML = b'<?xml version="1.0" encoding="utf-8" ?>\n<services version="1.0"/>\n'


def serve_yaml(*apps: tuple[str, str], price: int = 1) -> bytes:
    """A deploy config: one application per (name, route_prefix), one deployment each."""
    lines = ["applications:"]
    for name, prefix in apps:
        lines += [
            f"  - name: {name}",
            f"    route_prefix: {prefix}",
            "    import_path: mod:app",
            "    deployments:",
            "      - name: Model",
            "        num_replicas: 1",
            f"        user_config: {{price: {price}}}",
        ]
    return ("\n".join(lines) + "\n").encode()


def package_files(*apps: tuple[str, str], price: int = 1) -> dict[str, bytes]:
    """A package the vespa CLI will send: services.xml placeholder plus the Serve YAML."""
    return {"services.xml": SERVICES_XML, "serve.yaml": serve_yaml(*apps, price=price)}


def write_package(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@dataclass
class LiveServer:
    url: str
    port: int
    state_dir: Path
    server: uvicorn.Server

    @property
    def engine(self) -> Engine:
        engine: Engine = self.server.config.app.state.ctx.engine
        return engine

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]


@contextlib.contextmanager
def run_server(state_dir: Path, **settings: object) -> Iterator[LiveServer]:
    """Start the API with uvicorn in a thread on a free port; stop it on exit."""
    config = ApiSettings(state_dir, **settings)  # type: ignore[arg-type]
    server = build_server(config, ListenAddress("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, name="gitsync-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    port = bound_port(server)
    assert port is not None
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, state_dir, server)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(tmp_path / "state") as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as client:
        yield client


@pytest.fixture
def zip_package() -> bytes:
    return package.build_zip(package_files(("app1", "/a")))


def vespa_binary() -> str:
    import vespacli

    path: str = vespacli.get_binary_path()
    binary = Path(path)
    if binary.is_dir():
        binary = binary / "vespa"
    return str(binary)


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
