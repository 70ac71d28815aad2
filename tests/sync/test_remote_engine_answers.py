"""A remote engine that answers something other than gitsync's API: every answer of the
wrong shape is an EngineUnavailable naming the engine, never a KeyError or ValueError."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gitsync.engine.records import DeploySource
from gitsync.errors import EngineUnavailable
from gitsync.sync.client import RemoteEngine


class _Answers:
    """The body the fake engine sends next (status 200, JSON content type)."""

    body = b"{}"


@pytest.fixture
def engine_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(_Answers.body)))
            self.end_headers()
            self.wfile.write(_Answers.body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "body",
    [b"<html>proxy error</html>", b"{}", b'{"generation": "x"}', b"[1, 2]", b"null"],
)
def test_live_of_the_wrong_shape_is_engine_unavailable(engine_url: str, body: bytes) -> None:
    _Answers.body = body
    engine = RemoteEngine(engine_url)
    try:
        with pytest.raises(EngineUnavailable, match="not gitsync's API") as info:
            engine.live("default", "default")
        assert info.value.message.startswith(f"engine at {engine_url} answered GET ")
    finally:
        engine.close()


@pytest.mark.parametrize("body", [b"not json", b'{"generation": 3}', b'[{"tenant": 1}]'])
def test_writes_and_history_of_the_wrong_shape_are_engine_unavailable(
    engine_url: str, body: bytes
) -> None:
    _Answers.body = body
    engine = RemoteEngine(engine_url)
    try:
        source = DeploySource(revision="r", meta={})
        calls: list[Callable[[], object]] = [
            lambda: engine.deploy({"a.yaml": b"x"}, tenant="t", application="a", source=source),
            lambda: engine.history("t", "a"),
            lambda: engine.rollback("t", "a", None),
        ]
        for call in calls:
            with pytest.raises(EngineUnavailable, match="not gitsync's API"):
                call()
    finally:
        engine.close()
