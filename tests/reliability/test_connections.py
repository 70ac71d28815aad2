"""Connections cannot be hoarded: idle, half-sent and slow connections are closed in
time and never lock out a quick request, on the engine and the agent alike."""

from __future__ import annotations

import contextlib
import resource
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gitsync.api.connections import guarded_protocol
from tests.testing.tools import gitsync_command, python_env
from tests.testing.wait import free_port, wait_until

pytestmark = pytest.mark.slow


def _limit_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def _hoard(port: int, idle: int, half: int) -> list[socket.socket]:
    held = []
    for i in range(idle + half):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i >= idle:
            sock.sendall(b"GET /state/v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
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


@pytest.fixture
def short_deadline() -> Iterator[int]:
    """A server whose requests must arrive within 1 s; its route reads the body."""

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
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET / HTTP/1.1\r\nHost: localhost\r\n",  # headers never finish
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nabc",  # slow body
    ],
)
def test_idle_half_sent_and_slow_requests_are_closed(short_deadline: int, sent: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", short_deadline))
    sock.sendall(sent)
    started = time.monotonic()
    assert _closed_within(sock, 5.0)
    assert time.monotonic() - started < 4.0


def test_a_quick_request_gets_in_past_the_cap(short_deadline: int) -> None:
    held = _hoard(short_deadline, idle=40, half=40)  # cap 50
    try:
        response = httpx.get(f"http://127.0.0.1:{short_deadline}/", timeout=5)
        assert response.status_code == 200
    finally:
        for sock in held:
            sock.close()


def _answer(sock: socket.socket, seconds: float = 5.0) -> bytes:
    """What the server sends until it closes the connection."""
    sock.settimeout(seconds)
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_headers_past_the_cap_are_refused_and_closed(short_deadline: int) -> None:
    sock = socket.create_connection(("127.0.0.1", short_deadline))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
    for _ in range(40):  # up to 160 KB of one header that never ends
        sock.sendall(b"a" * 4096)
        # Stop once the server answers: more bytes to a closed socket would reset the
        # connection and drop the answer before it is read.
        if select.select([sock], [], [], 0.02)[0]:
            break
    assert _answer(sock).startswith(b"HTTP/1.1 431 ")


def test_a_body_sent_with_its_headers_is_not_counted_against_the_header_cap(
    short_deadline: int,
) -> None:
    body = b"x" * 300_000
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body)
    sock = socket.create_connection(("127.0.0.1", short_deadline))
    sock.sendall(head + body)
    answer = _answer(sock, 3.0)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"300000 bytes")
    sock.close()


def test_pipelined_requests_are_all_answered(short_deadline: int) -> None:
    one = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    sock = socket.create_connection(("127.0.0.1", short_deadline))
    sock.sendall(one * 3)
    answer = _answer(sock, 3.0)  # then the read deadline closes the idle connection
    assert answer.count(b"HTTP/1.1 200 ") == 3
