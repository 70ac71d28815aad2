"""A clock that moves only when a test says so."""

from __future__ import annotations


class ManualClock:
    """Vespa's ManualClock: an engine's ``clock=`` that tests advance by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
