"""Bounded waits and free ports: nothing in the suite waits forever or asserts on timing."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")

WAIT_S = 90.0  # generous: the machine running the suite may be very busy


def wait_until(
    check: Callable[[], T | None],
    what: str,
    timeout_s: float = WAIT_S,
    show: Callable[[], object] | None = None,
    interval_s: float = 0.05,
) -> T:
    """Poll ``check`` every ``interval_s`` until it returns something truthy and return
    that; raise ``TimeoutError`` naming ``what``, the last value seen and ``show()``
    (what else would explain the wait) when time runs out. Benches that time the wait
    poll more often."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    shown = f"; {show()}" if show is not None else ""
    raise TimeoutError(
        f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r}{shown})"
    )


def free_port() -> int:
    """A 127.0.0.1 port that was free a moment ago (nothing listens on it now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """Whether a GET of ``url`` answers 200 now (a refused or slow connection is a no)."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
