"""Connections cannot be hoarded: uvicorn's h11 protocol with deadlines and a cap.

uvicorn (0.54) times out only the idle gap after a response. A client that connects
and sends nothing, trickles its headers, or never finishes its body holds a socket
and a file descriptor for ever. :func:`guarded_protocol` makes a protocol class that
adds:

* a **read deadline**: each request (headers and body) must arrive in full within
  ``read_timeout_s`` of the connection opening or of the previous response; a
  connection past it is closed (the app sees a disconnect);
* a **connection cap**: past ``max_connections`` open connections, the one that has
  waited longest without completing a request is closed to make room, so a flood of
  idle or half-sent connections never locks out a quick request such as
  ``/state/v1/health``; with no such connection to close, the newcomer is closed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

READ_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 5.0
MAX_CONNECTIONS = 256  # well under a 1,024 file-descriptor limit
MAX_HEADER_BYTES = 64 * 1024


class GuardedH11Protocol(H11Protocol):
    read_timeout_s = READ_TIMEOUT_S
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self.waiting_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is h11.DONE:
            self._disarm()  # the whole request is in: the app takes its time

    def on_response_complete(self) -> None:
        self._arm()  # before: a pipelined request handled inside disarms it again
        super().on_response_complete()

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

    def _make_room(self) -> None:
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol) and c is not self and c.waiting_since is not None
        ]
        if not waiting:
            self.transport.close()
            return
        oldest = min(waiting, key=lambda c: c.waiting_since or 0.0)
        oldest.transport.close()


def guarded_protocol(
    read_timeout_s: float = READ_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS
) -> type[GuardedH11Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these limits."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"read_timeout_s": read_timeout_s, "max_connections": max_connections},
    )


def uvicorn_limits() -> dict[str, Any]:
    """The uvicorn settings every gitsync listener shares (engine and agent)."""
    return {
        "http": guarded_protocol(),
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "backlog": 128,
    }
