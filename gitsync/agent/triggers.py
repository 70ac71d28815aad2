"""What asks the agent to reconcile, besides webhooks and git hooks (those live in
``gitsync.api``): the poll schedule and the directory watcher.

The poll runs on a private ``schedule.Scheduler`` driven by the agent's own loop, so
no extra thread is needed and the next poll time is always known for the status.
Each poll re-draws its interval as ``interval * (1 + random share of jitter)``, like
Argo CD's resync jitter, so that many agents started together drift apart.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import schedule

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
        self._scheduler = schedule.Scheduler()
        self._job: schedule.Job | None = None

    def _next_interval(self) -> float:
        return self.interval_s * (1 + self.jitter * self._rng())

    def start(self) -> None:
        if self._job is None:
            # schedule types the interval as int, but a float works (it becomes a timedelta).
            every = self._scheduler.every(self._next_interval())  # type: ignore[arg-type]
            self._job = every.seconds.do(self._fire)

    def _fire(self) -> None:
        # schedule computes the next run from job.interval right after this returns.
        if self._job is not None:
            self._job.interval = self._next_interval()  # type: ignore[assignment]
        self._on_poll()

    def run_pending(self) -> None:
        self._scheduler.run_pending()

    def idle_s(self) -> float:
        """Seconds until the next poll (0 when one is due; the interval before start)."""
        idle = self._scheduler.idle_seconds
        return self.interval_s if idle is None else max(0.0, idle)

    def next_run(self) -> float | None:
        """The next poll as seconds since the epoch, None before start."""
        if self._job is None or self._job.next_run is None:
            return None
        return datetime.timestamp(self._job.next_run)  # naive local time, as schedule keeps it

    def stop(self) -> None:
        self._scheduler.clear()
        self._job = None


def watch_directory(
    root: Path, subpath: str, on_change: Callable[[], None], *, debounce_s: float = 0.05
) -> DirectoryWatcher:
    """A started watcher that calls ``on_change`` once per burst of changes."""
    watcher = DirectoryWatcher(
        root, lambda _paths: on_change(), subpath=subpath, debounce_s=debounce_s
    )
    watcher.start()
    return watcher
