"""Reads are protected like writes, and a listener answers only to its own names.

Real HTTP against a real engine (and the remote agent's API) on 127.0.0.1; the real
``serve`` CLI sends the token the way Ray 2.60's token authentication does.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from gitsync.api import app as api_app
from gitsync.api.guard import HostRule, RequestGuard, is_page
from tests.testing.api import LiveServer, run_cli, run_server
from tests.testing.tools import tool_path
from tests.testing.wait import wait_until

TOKEN = "s3cret-token-value"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPEN = {"/state/v1/health", "/status.html", "/metrics", "/openapi.yaml"}


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(tmp_path / "state", token=TOKEN) as server:
        yield server


def _get_paths(routes: list[BaseRoute]) -> list[str]:
    """Every GET route of the app, its parameters filled with plausible values."""
    paths = []
    for route in routes:
        methods = getattr(route, "methods", None) or set()
        path = getattr(route, "path", "")
        if "GET" not in methods or not path or is_page(path):
            continue  # the web page signs its readers in itself (tests/api/ui)
        filled = re.sub(r"\{session_id(:[a-z]+)?\}", "2", path)
        filled = re.sub(r"\{[a-z_]+:path\}", "services.xml", filled)
        paths.append(re.sub(r"\{[a-z_]+(:[a-z]+)?\}", "default", filled))
    return paths


def test_with_a_token_every_read_needs_it_but_health_and_metrics(guarded: LiveServer) -> None:
    paths = _get_paths(api_app.routes())
    assert len(paths) > 15
    assert any(p.startswith("/api/serve/applications") for p in paths)
    with guarded.client() as http:
        for path in paths:
            anonymous = http.get(path)
            if path in OPEN:
                assert anonymous.status_code == 200, path
                assert TOKEN not in anonymous.text
            else:
                assert anonymous.status_code == 401, (path, anonymous.status_code)
                assert http.get(path, headers={"Authorization": "Bearer x"}).status_code == 403
                # Ray's proxies may send the token in X-Ray-Authorization instead.
                ray_style = http.get(path, headers={"X-Ray-Authorization": f"Bearer {TOKEN}"})
                assert ray_style.status_code not in (401, 403), path
        assert http.get("/api/serve/applications/", headers=AUTH).status_code == 200


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:19071", "127.0.0.1.evil.example", "[::2]", ""]
)
def test_a_foreign_host_header_is_refused(tmp_path: Path, token: str | None, host: str) -> None:
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host."""
    headers = {**AUTH, "Host": host} if token else {"Host": host}
    with run_server(tmp_path / "state", token=token) as server, server.client() as http:
        refused = http.get("/api/serve/applications/", headers=headers)
        assert refused.status_code == 421, refused.text
        assert "Host" in refused.text
        for good in ("localhost", f"localhost:{server.port}", "127.0.0.1", "[::1]:1"):
            ok = http.get("/api/serve/applications/", headers={**headers, "Host": good})
            assert ok.status_code == 200, good


def test_public_url_hosts_join_the_allow_list() -> None:
    rule = HostRule(["https://gitsync.example.com:8443/x", "deploy.internal"], "10.1.2.3")
    for header in (b"gitsync.example.com", b"GITSYNC.example.com:443", b"deploy.internal:1"):
        assert rule.allows(header)
    assert rule.allows(b"10.1.2.3:19071") and rule.allows(b"localhost")
    assert not rule.allows(b"example.com") and not rule.allows(None)
    assert not HostRule([], "0.0.0.0").allows(b"0.0.0.0")


def _non_loopback_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def guarded_on_lan() -> Iterator[str]:
    """A tokenless guard (as the agent's API runs by default) bound to a LAN address."""
    address = _non_loopback_ip()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    inner = Starlette(routes=[Route("/status", lambda r: PlainTextResponse("ok"))])
    app = RequestGuard(
        inner, token=None, render=api_app.error_for_path, hosts=HostRule([], address)
    )
    server = uvicorn.Server(uvicorn.Config(app, host=address, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the guard to listen", timeout_s=20)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{address}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_without_a_token_only_loopback_clients_are_served(guarded_on_lan: str) -> None:
    with httpx.Client(timeout=10) as http:
        response = http.get(f"{guarded_on_lan}/status")
    assert response.status_code == 403
    assert "loopback" in response.json()["message"]


def test_the_remote_agents_api_follows_the_same_rules() -> None:
    from gitsync.agent.server import standalone_app

    app = standalone_app(token=TOKEN)
    # Starlette types a middleware's class as a factory: compare it as the object it is.
    guards = [m for m in app.user_middleware if cast(object, m.cls) is RequestGuard]
    assert len(guards) == 1
    assert guards[0].kwargs["token"] == TOKEN


@pytest.mark.slow
def test_serve_cli_reads_and_writes_with_rays_token_auth(
    guarded: LiveServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "applications:\n"
        "  - name: app1\n    route_prefix: /a\n    import_path: mod:app\n"
        "    deployments:\n      - name: Model\n        num_replicas: 2\n"
    )
    serve = tool_path("serve")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    with_token = {"RAY_DASHBOARD_ADDRESS": "", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN}
    from_file = {
        "RAY_DASHBOARD_ADDRESS": "",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_file),
    }
    without = {"RAY_DASHBOARD_ADDRESS": ""}

    deployed = run_cli([serve, "deploy", str(config), "-a", guarded.url], tmp_path, with_token)
    assert deployed.returncode == 0, deployed.stderr
    status = run_cli([serve, "status", "-a", guarded.url], tmp_path, from_file)
    assert status.returncode == 0, status.stderr
    assert "app1:" in status.stdout
    shown = run_cli([serve, "config", "-a", guarded.url], tmp_path, with_token)
    assert shown.returncode == 0, shown.stderr
    assert "name: app1" in shown.stdout
    refused = run_cli([serve, "status", "-a", guarded.url], tmp_path, without)
    assert refused.returncode != 0
    assert "token authentication is enabled" in refused.stderr
    assert TOKEN not in refused.stdout + refused.stderr
