"""Connections cannot be hoarded: idle, half-sent and slow connections are closed in
time and never lock out a quick request, on the engine and the agent alike.

The cases run on each listener: ``gitsync engine`` and ``gitsync agent`` as processes
(their own limits: a 15 s read deadline, 256 connections, 64 KB of headers), and the
guarded protocol alone with limits short enough to see the deadline in a second."""

from __future__ import annotations

import resource
import select
import selectors
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gitsync.agent.client import STATUS_PATH, VALIDATE_PATH
from gitsync.api import connections
from gitsync.api.connections import guarded_protocol
from tests.testing.agent import AgentProcess
from tests.testing.configs import serve_yaml
from tests.testing.engine import EngineProcess
from tests.testing.tools import gitsync_command, python_env
from tests.testing.wait import free_port, wait_until

pytestmark = pytest.mark.slow


def _limit_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def _hoard(port: int, idle: int, half: int, path: str = "/state/v1/health") -> list[socket.socket]:
    """``idle`` connections that send nothing, then ``half`` whose headers never end."""
    held = []
    for i in range(idle + half):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i >= idle:
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nX-Slow: " % path.encode())
        held.append(sock)
    return held


def test_hoarded_connections_do_not_stop_health_under_1024_fds(tmp_path: Path) -> None:
    port = free_port()
    engine = subprocess.Popen(
        [*gitsync_command("engine", "--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp_path))],
        env=python_env(),
        preexec_fn=_limit_fds,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/state/v1/health"
    held: list[socket.socket] = []
    try:
        wait_until(lambda: _answers(url), "the engine to listen", timeout_s=60)
        held = _hoard(port, idle=200, half=200)  # past the cap of 256: the oldest go
        latencies = []
        for _ in range(5):
            start = time.perf_counter()
            assert httpx.get(url, timeout=10).status_code == 200
            latencies.append(time.perf_counter() - start)
        assert max(latencies) < 3.0, latencies
        assert engine.poll() is None
    finally:
        for sock in held:
            sock.close()
        engine.terminate()
        engine.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Listener(NamedTuple):
    """A listener under test and the limits it was built with."""

    port: int
    quick: str  # a GET path answered at once
    upload: str  # the method and path of a route that reads its body
    read_timeout_s: float
    max_connections: int


def _guarded_app(root: Path | None = None) -> Iterator[Listener]:
    """The guarded protocol alone, with short limits: its requests must arrive within
    1 s, at most 50 connections; its route reads the body."""

    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        return PlainTextResponse(f"{len(body)} bytes")

    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", http=guarded_protocol(1.0, 50)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the server to listen", timeout_s=20)
    try:
        yield Listener(server.servers[0].sockets[0].getsockname()[1], "/", "POST /", 1.0, 50)
    finally:
        server.should_exit = True
        thread.join(10)


def _engine(root: Path) -> Iterator[Listener]:
    """``gitsync engine`` as a process, with the limits every listener has."""
    engine = EngineProcess(root / "state", root / "engine.log").start()
    try:
        yield Listener(
            engine.port,
            "/state/v1/health",
            "PUT /api/serve/applications/",
            connections.READ_TIMEOUT_S,
            connections.MAX_CONNECTIONS,
        )
    finally:
        engine.stop()


def _agent(root: Path) -> Iterator[Listener]:
    """``gitsync agent`` as a process (its engine embedded), serving its API and page."""
    source = root / "src"
    source.mkdir()
    (source / "serve.yaml").write_bytes(serve_yaml(("a", "/a")))
    agent = AgentProcess([str(source), "--interval", "3600"], root / "state", root / "agent.log")
    try:
        port = urlsplit(agent.wait_started().url).port
        assert port is not None
        yield Listener(
            port,
            STATUS_PATH,
            f"POST {VALIDATE_PATH}",
            connections.READ_TIMEOUT_S,
            connections.MAX_CONNECTIONS,
        )
    finally:
        agent.stop()


LISTENERS: dict[str, Callable[[Path], Iterator[Listener]]] = {
    "guarded app": _guarded_app,
    "engine": _engine,
    "agent": _agent,
}


@pytest.fixture(scope="module", params=list(LISTENERS))
def listener(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Listener]:
    """Each listener once per module: the engine's and the agent's real ones, and the
    protocol alone with limits short enough to wait for."""
    yield from LISTENERS[request.param](tmp_path_factory.mktemp(request.param.replace(" ", "-")))


@pytest.fixture(scope="module")
def guarded_app() -> Iterator[Listener]:
    yield from _guarded_app()


def _closing_times(
    socks: list[socket.socket], limit_s: float, enough: int | None = None
) -> list[float | None]:
    """Seconds until the server closed each socket (None: still open), waiting at most
    ``limit_s``, or until ``enough`` of them are closed."""
    started = time.monotonic()
    closed: list[float | None] = [None] * len(socks)
    enough = len(socks) if enough is None else enough
    with selectors.DefaultSelector() as selector:
        for index, sock in enumerate(socks):
            selector.register(sock, selectors.EVENT_READ, index)
        while len(socks) - closed.count(None) < enough:
            left = limit_s - (time.monotonic() - started)
            if left <= 0:
                break
            for key, _events in selector.select(min(left, 0.05)):
                sock = socks[key.data]
                try:
                    ended = not sock.recv(4096)
                except OSError:
                    ended = True
                if ended:
                    closed[key.data] = time.monotonic() - started
                    selector.unregister(sock)
    return closed


def test_idle_half_sent_and_slow_requests_are_closed_at_the_read_deadline(
    listener: Listener,
) -> None:
    method, path = listener.upload.split()
    sent = [
        b"",  # connects and says nothing
        b"GET %s HTTP/1.1\r\nHost: localhost\r\n" % listener.quick.encode(),  # never ends
        b"%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\nabc" % (method.encode(), path.encode()),  # slow body
    ]
    socks = [socket.create_connection(("127.0.0.1", listener.port)) for _ in sent]
    try:
        for sock, data in zip(socks, sent, strict=True):
            sock.sendall(data)
        deadline = listener.read_timeout_s
        closed = _closing_times(socks, deadline + 5.0)
        assert all(at is not None and at < deadline + 3.0 for at in closed), closed
        # not before: the read deadline closed them, nothing else
        assert all(at is not None and at > deadline * 0.8 for at in closed), closed
    finally:
        for sock in socks:
            sock.close()


def test_a_quick_request_gets_in_past_the_cap(listener: Listener) -> None:
    cap = listener.max_connections
    held = _hoard(listener.port, idle=cap // 2 + 20, half=cap // 2 + 20, path=listener.quick)
    try:
        response = httpx.get(f"http://127.0.0.1:{listener.port}{listener.quick}", timeout=5)
        assert response.status_code == 200
        # Room was made by closing the connections that had waited longest.
        times = _closing_times(held, listener.read_timeout_s / 2, enough=len(held) - cap)
        closed = [index for index, at in enumerate(times) if at is not None]
        assert len(closed) >= len(held) - cap, closed
        assert max(closed) < len(held) // 2, closed
    finally:
        for sock in held:
            sock.close()


def _answer(sock: socket.socket, seconds: float = 5.0) -> bytes:
    """What the server sends until it closes the connection, which it must do within
    ``seconds``."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pytest.fail(f"still open after {seconds:g} s; received {received[:200]!r}")
    except OSError:
        pass  # reset: closed
    return received


def test_headers_past_the_cap_are_refused_and_closed(listener: Listener) -> None:
    sock = socket.create_connection(("127.0.0.1", listener.port))
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nX-Big: " % listener.quick.encode())
    for _ in range(40):  # up to 160 KB of one header that never ends
        sock.sendall(b"a" * 4096)
        # Stop once the server answers: more bytes to a closed socket would reset the
        # connection and drop the answer before it is read.
        if select.select([sock], [], [], 0.02)[0]:
            break
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b"\r\n\r\nRequest header fields too large")


def test_a_body_sent_with_its_headers_is_not_counted_against_the_header_cap(
    guarded_app: Listener,
) -> None:
    body = b"x" * 300_000
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body)
    sock = socket.create_connection(("127.0.0.1", guarded_app.port))
    sock.sendall(head + body)
    answer = _answer(sock, 3.0)  # the read deadline closes it after the answer
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"300000 bytes")
    sock.close()


def test_pipelined_requests_are_all_answered(listener: Listener) -> None:
    one = b"GET %s HTTP/1.1\r\nHost: localhost\r\n" % listener.quick.encode()
    sock = socket.create_connection(("127.0.0.1", listener.port))
    sock.sendall(one + b"\r\n" + one + b"\r\n" + one + b"Connection: close\r\n\r\n")
    answer = _answer(sock)  # closed after the third, as it asked
    assert answer.count(b"HTTP/1.1 200 ") == 3, answer[:500]
    sock.close()
