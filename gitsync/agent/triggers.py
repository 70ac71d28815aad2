"""What asks the agent to reconcile, besides webhooks and git hooks (those are HTTP
routes, see ``gitsync.agent.routes`` and ``gitsync.agent.webhook``): the poll schedule
and the directory watcher.

The poll is a monotonic deadline driven by the agent's own loop, so no extra thread is
needed, a change of the wall clock never skips or repeats a poll, and the next poll time
is always known for the status. Each poll re-draws its interval as ``interval * (1 +
random share of jitter)``, like Argo CD's resync jitter, so that many agents started
together drift apart.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from gitsync.sources.directory import DirectoryWatcher


class PollSchedule:
    """Calls ``on_poll`` every ``interval_s`` (plus jitter) while the owner drives it."""

    def __init__(
        self,
        interval_s: float,
        jitter: float,
        on_poll: Callable[[], object],
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("the poll interval must be positive")
        self.interval_s = interval_s
        self.jitter = jitter
        self._on_poll = on_poll
        self._rng = rng
        self._due: float | None = None  # time.monotonic() of the next poll
        self.current_interval_s = interval_s

    def _draw(self) -> None:
        self.current_interval_s = self.interval_s * (1 + self.jitter * self._rng())
        self._due = time.monotonic() + self.current_interval_s

    def start(self) -> None:
        if self._due is None:
            self._draw()

    def run_pending(self) -> None:
        """Poll if one is due (the next is drawn first, from now)."""
        if self._due is not None and time.monotonic() >= self._due:
            self._draw()
            self._on_poll()

    def idle_s(self) -> float:
        """Seconds until the next poll (0 when one is due; the interval before start)."""
        if self._due is None:
            return self.interval_s
        return max(0.0, self._due - time.monotonic())

    def next_run(self) -> float | None:
        """The next poll as seconds since the epoch, None before start."""
        if self._due is None:
            return None
        return time.time() + self.idle_s()

    def stop(self) -> None:
        self._due = None


def watch_directory(
    root: Path, subpath: str, on_change: Callable[[], None], *, debounce_s: float = 0.05
) -> DirectoryWatcher:
    """A started watcher that calls ``on_change`` once per burst of changes."""
    watcher = DirectoryWatcher(
        root, lambda _paths: on_change(), subpath=subpath, debounce_s=debounce_s
    )
    watcher.start()
    return watcher
