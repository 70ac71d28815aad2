"""Helpers and fixtures for the API tests: a real engine API on an ephemeral 127.0.0.1 port
(uvicorn in a thread), packages the real ``vespa`` CLI accepts, and CLI runners."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from schemathesis.core.result import Err
from starlette.applications import Starlette

from gitsync.api.address import ListenAddress
from gitsync.api.app import ApiSettings
from gitsync.api.server import bound_port, build_server
from gitsync.config import package
from gitsync.engine import Engine
from tests.testing.configs import package_files
from tests.testing.wait import wait_until


@dataclass
class LiveServer:
    url: str
    port: int
    state_dir: Path
    server: uvicorn.Server

    @property
    def engine(self) -> Engine:
        app = self.server.config.app
        assert isinstance(app, Starlette)
        engine: Engine = app.state.ctx.engine
        return engine

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)


@contextlib.contextmanager
def run_server(
    state_dir: Path,
    *,
    token: str | None = None,
    max_body: int | None = None,
    engine: Engine | None = None,
) -> Iterator[LiveServer]:
    """Start the API with uvicorn in a thread on a free port; stop it on exit."""
    config = ApiSettings(state_dir, token=token)
    if max_body is not None:
        config = dataclasses.replace(config, max_body=max_body)
    server = build_server(config, ListenAddress("127.0.0.1", 0), engine=engine)
    thread = threading.Thread(target=server.run, name="gitsync-api", daemon=True)
    thread.start()
    wait_until(
        lambda: server.started or not thread.is_alive(), "the API server to start", timeout_s=30
    )
    port = bound_port(server)
    if port is None:
        raise RuntimeError("the API server did not start")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, state_dir, server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


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


def schema_operations(
    url: str, headers: dict[str, str] | None = None
) -> list[schemathesis.APIOperation[Any, Any, Any, Any]]:
    """Every operation of the OpenAPI document at ``url`` (fetched with ``headers``: with a
    token, reads need it too); one that cannot be read raises."""
    operations = []
    for result in schemathesis.openapi.from_url(url, headers=headers or {}).get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations
