"""The agent's API guard over real HTTP: ``gitsync agent`` started as a process (with
its engine embedded, or remote), with and without ``--token``, with ``--public-url``.

With a token, reads and writes of every agent route need it (the web page too); a
``Host`` that is neither loopback, nor the bound address, nor a ``--public-url`` host
is a 421 whatever the token; without a token the agent listens on loopback only and
answers only to a loopback ``Host``."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gitsync.agent.client import REFRESH_PATH, STATUS_PATH, VALIDATE_PATH
from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.engine import EngineProcess
from tests.testing.git import WorkRepo
from tests.testing.tools import run_gitsync

Start = Callable[..., AgentProcess]
TOKEN = "agent-guard-token-4711"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC = "https://agent.example.com:8443"
EVIL = "evil.example"


def _archive(repo: WorkRepo) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo.path), "archive", "--format=tar.gz", "HEAD"],
        check=True,
        capture_output=True,
    ).stdout


def _requests(repo: WorkRepo) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """(method, path, extra headers, body) of every agent route: reads and writes."""
    tarball = ("application/gzip", _archive(repo))
    return [
        ("GET", STATUS_PATH, {}, None),
        ("POST", REFRESH_PATH, {}, None),
        ("POST", VALIDATE_PATH, {"Content-Type": tarball[0]}, tarball[1]),
        ("GET", "/metrics", {}, None),
    ]


def _send(
    http: httpx.Client,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
) -> httpx.Response:
    return http.request(method, path, headers=headers, content=body)


@pytest.fixture
def source(tmp_path: Path) -> WorkRepo:
    repo = WorkRepo(tmp_path / "work")
    repo.commit("first", {"apps/a.yaml": app_yaml("a")})
    return repo


def _engine(tmp_path: Path, token: str | None) -> Iterator[EngineProcess]:
    process = EngineProcess(tmp_path / "engine-state", tmp_path / "engine.log", token=token)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    yield from _engine(tmp_path, TOKEN)


@pytest.fixture
def open_engine(tmp_path: Path) -> Iterator[EngineProcess]:
    yield from _engine(tmp_path, None)


def _agent_args(
    kind: str, source: WorkRepo, request: pytest.FixtureRequest, engine: str = "engine"
) -> list[str]:
    args = [str(source.path), "--ref", "main", "--interval", "3600"]
    if kind == "remote":
        args += ["--engine", request.getfixturevalue(engine).url]
    return args


@pytest.mark.parametrize("kind", ["embedded", "remote"])
def test_with_a_token_every_agent_route_needs_it(
    kind: str, source: WorkRepo, start_agent: Start, request: pytest.FixtureRequest
) -> None:
    args = [*_agent_args(kind, source, request), "--token", TOKEN, "--public-url", PUBLIC]
    agent = start_agent(*args)
    calls = _requests(source)
    with httpx.Client(base_url=agent.url, timeout=30) as http:
        for method, path, extra, body in calls:
            where = f"{kind}: {method} {path}"
            if path == "/metrics":  # open, and carries no secret
                opened = _send(http, method, path, extra, body)
                assert opened.status_code == 200, where
                assert TOKEN not in opened.text
                continue
            anonymous = _send(http, method, path, extra, body)
            assert anonymous.status_code == 401, (where, anonymous.text)
            assert TOKEN not in anonymous.text
            wrong = _send(http, method, path, {**extra, "Authorization": "Bearer nope"}, body)
            assert wrong.status_code == 403, where
            allowed = _send(http, method, path, {**extra, **AUTH}, body)
            assert allowed.status_code in (200, 202), (where, allowed.text)
            assert TOKEN not in allowed.text
            # DNS rebinding: a foreign Host is refused even with the right token
            for host in (EVIL, f"{EVIL}:443", "agent.example.com.evil.example"):
                rebound = _send(http, method, path, {**extra, **AUTH, "Host": host}, body)
                assert rebound.status_code == 421, (where, host, rebound.status_code)
            # the --public-url host is one of the agent's names
            public = _send(
                http, method, path, {**extra, **AUTH, "Host": "agent.example.com:8443"}, body
            )
            assert public.status_code in (200, 202), (where, public.text)
        assert http.get(STATUS_PATH, headers=AUTH).json()["source"]
        _check_the_page(http, kind)
    assert TOKEN not in agent.output()
    assert agent.stop() == 0


def _check_the_page(http: httpx.Client, kind: str) -> None:
    """The web page (the embedded agent serves the engine's) shows nothing without it."""
    anonymous = http.get("/")
    if kind == "remote":  # the remote agent's API has no page
        assert anonymous.status_code == 404, anonymous.status_code
        return
    assert anonymous.status_code == 303, anonymous.status_code
    assert anonymous.headers["location"].startswith("/ui/login")
    login = http.get(anonymous.headers["location"])
    assert login.status_code == 200 and "shop:app" not in login.text
    assert http.get("/", headers={"Host": EVIL}).status_code == 421
    assert http.get("/", headers=AUTH).status_code == 200


@pytest.mark.parametrize("kind", ["embedded", "remote"])
def test_without_a_token_the_agent_serves_loopback_names_only(
    kind: str,
    tmp_path: Path,
    source: WorkRepo,
    start_agent: Start,
    request: pytest.FixtureRequest,
) -> None:
    agent = start_agent(
        *_agent_args(kind, source, request, "open_engine"), env={"GITSYNC_TOKEN": ""}
    )
    with httpx.Client(base_url=agent.url, timeout=30) as http:
        for method, path, extra, body in _requests(source):
            for host in ("localhost", "127.0.0.1", "[::1]", f"localhost:{_port(agent.url)}"):
                ok = _send(http, method, path, {**extra, "Host": host}, body)
                assert ok.status_code in (200, 202), (method, path, host, ok.text)
            for host in (EVIL, "192.0.2.77", f"{EVIL}:{_port(agent.url)}"):
                refused = _send(http, method, path, {**extra, "Host": host}, body)
                assert refused.status_code == 421, (method, path, host)
        assert http.get("/", headers={"Host": EVIL}).status_code == 421
    assert agent.stop() == 0


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _lan_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect: no packet is sent
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_without_a_token_the_agent_refuses_a_non_loopback_listener(
    tmp_path: Path, source: WorkRepo
) -> None:
    address = _lan_address() or "0.0.0.0"
    done = run_gitsync(
        "agent",
        str(source.path),
        "--ref",
        "main",
        "--state-dir",
        str(tmp_path / "state"),
        "--listen",
        f"{address}:0",
        env={"GITSYNC_TOKEN": ""},
        timeout_s=60,
    )
    assert done.returncode != 0
    assert "without a token" in done.stderr, done.stderr


def test_a_token_agent_on_a_lan_address_serves_lan_clients_with_the_token(
    tmp_path: Path, source: WorkRepo, start_agent: Start
) -> None:
    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    agent = start_agent(str(source.path), "--ref", "main", "--token", TOKEN, listen=f"{address}:0")
    assert agent.url.startswith(f"http://{address}:")
    with httpx.Client(base_url=agent.url, timeout=30) as http:  # Host: the bound address
        assert http.get(STATUS_PATH).status_code == 401
        assert http.get(STATUS_PATH, headers=AUTH).status_code == 200
        assert http.get(STATUS_PATH, headers={**AUTH, "Host": EVIL}).status_code == 421
    assert agent.stop() == 0


def test_the_validate_route_reads_nothing_before_the_token(
    tmp_path: Path, source: WorkRepo, start_agent: Start
) -> None:
    """An anonymous body is refused before it is read or unpacked: a 401 at once."""
    agent = start_agent(str(source.path), "--ref", "main", "--token", TOKEN)
    bomb = b"\x1f\x8b" + b"\x00" * 64
    with httpx.Client(base_url=agent.url, timeout=30) as http:
        response = http.post(VALIDATE_PATH, content=bomb)
        assert response.status_code == 401
        assert "Authorization" in response.text
    assert agent.stop() == 0
