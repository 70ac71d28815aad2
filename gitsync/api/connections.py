"""Connections cannot be hoarded: uvicorn's httptools protocol with deadlines and caps.

uvicorn (0.54) times out only the idle gap after a response. A client that connects
and sends nothing, trickles its headers, or never finishes its body holds a socket
and a file descriptor for ever. :func:`guarded_protocol` makes a protocol class that
adds:

* a **read deadline**: each request (headers and body) must arrive in full within
  ``read_timeout_s`` of the connection opening or of the previous response; a
  connection past it is closed (the app sees a disconnect);
* a **header cap**: a request whose headers run past ``MAX_HEADER_BYTES`` without
  ending is answered 431 and closed (the parser would otherwise buffer them);
* a **connection cap**: past ``max_connections`` open connections, the one that has
  waited longest without completing a request is closed to make room, so a flood of
  idle or half-sent connections never locks out a quick request such as
  ``/state/v1/health``; with no such connection to close, the newcomer is closed.

It builds on httptools (llhttp, in C) rather than h11: a small request costs a
third less CPU, which is most of what a cached GET costs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

READ_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 5.0
MAX_CONNECTIONS = 256  # well under a 1,024 file-descriptor limit
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE = b"Request header fields too large"


class GuardedProtocol(HttpToolsProtocol):
    read_timeout_s = READ_TIMEOUT_S
    max_connections = MAX_CONNECTIONS
    max_header_bytes = MAX_HEADER_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self.waiting_since: float | None = None
        self._in_headers = True  # before the end of a request's headers
        self._header_bytes = 0  # bytes fed while there
        self._boundaries = 0  # requests begun, headers ended, requests ended
        self._message_open = False  # a request has begun and not fully arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        boundaries = self._boundaries
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._boundaries != boundaries:
            # Where in the chunk a request began or its headers ended is not known:
            # count from the next chunk (the cap may be passed by one chunk at most).
            self._header_bytes = 0
        elif self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._boundaries += 1
        self._message_open = True

    def on_headers_complete(self) -> None:
        self._boundaries += 1
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._boundaries += 1
        self._message_open = False
        self._in_headers = True  # whatever comes next starts a request
        self._disarm()  # the whole request is in: the app takes its time
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # Waiting for bytes again unless the next request has already arrived whole
        # (pipelined: queued, not yet started).
        waiting = self._message_open or not self.pipeline
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self.waiting_since = time.monotonic()
        self._deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        self.waiting_since = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_headers(self) -> None:
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
        )
        self.transport.close()

    def _make_room(self) -> None:
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedProtocol) and c is not self and c.waiting_since is not None
        ]
        if not waiting:
            self.transport.close()
            return
        oldest = min(waiting, key=lambda c: c.waiting_since or 0.0)
        oldest.transport.close()


def guarded_protocol(
    read_timeout_s: float = READ_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> type[GuardedProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these limits."""
    return type(
        "GuardedProtocol",
        (GuardedProtocol,),
        {
            "read_timeout_s": read_timeout_s,
            "max_connections": max_connections,
            "max_header_bytes": max_header_bytes,
        },
    )


def uvicorn_limits() -> dict[str, Any]:
    """The uvicorn settings every gitsync listener shares (engine and agent)."""
    return {
        "http": guarded_protocol(),
        "timeout_keep_alive": KEEP_ALIVE_S,
        "backlog": 128,
    }
