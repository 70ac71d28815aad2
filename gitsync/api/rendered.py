"""Response bodies kept per state version: a read of unchanged state is a lookup.

With the ``none`` runtime, what the engine's reads answer (the Serve GET, gitsync's
live view) changes only with the store, whose state version grows with every commit
of any engine on it (read-your-writes across engines: the version is read before the
body is rendered, so a body is never kept under a version newer than the state it
shows). A managed runtime's statuses change outside the store: nothing is kept then.

Bounded: the most recently used bodies, at most ``max_entries`` and ``max_bytes``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from gitsync.config.collector import gc_paused
from gitsync.engine import Engine

MAX_ENTRIES = 16
MAX_BYTES = 64 * 1024 * 1024


class Renderings:
    """Rendered bodies of one engine, by what was asked (route and parameters)."""

    def __init__(
        self, engine: Engine, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
    ) -> None:
        self.engine = engine
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def kept(self, key: Hashable) -> bytes | None:
        """The body kept for ``key`` if the state has not changed since; else None.
        Reads the state version: a database read on a shared store."""
        if self.engine.runtime.name != "none":
            return None
        version = self.engine.state_version
        with self._lock:
            found = self._bodies.get(key)
            if found is None or found[0] != version:
                return None
            self._bodies.move_to_end(key)
            return found[1]

    def render(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """``make()``'s body, kept for the state version read before it ran."""
        keep = self.engine.runtime.name == "none"
        version = self.engine.state_version if keep else 0
        # A rendering builds plain dicts and lists (no reference cycles): for a unit of
        # 1,000 applications the cyclic GC's passes over them were 2/3 of its cost.
        with gc_paused():
            body = make()
        if keep and len(body) <= self.max_bytes:
            self._keep(key, version, body)
        return body

    def get(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The kept body, else a new rendering (kept)."""
        kept = self.kept(key)
        return kept if kept is not None else self.render(key, make)

    def _keep(self, key: Hashable, version: int, body: bytes) -> None:
        with self._lock:
            old = self._bodies.get(key)
            if old is not None and old[0] > version:
                return  # a rendering of a newer state finished first
            if old is not None:
                del self._bodies[key]
                self._bytes -= len(old[1])
            self._bodies[key] = (version, body)
            self._bytes += len(body)
            while len(self._bodies) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._bodies.popitem(last=False)
                self._bytes -= len(dropped)
