"""The agent's plans, kept per (source revision, live generation).

A generation's config never changes once active, and a revision's files never change,
so the plan between them is computed once. Every reconcile still reads the live state
(that is what makes it level-triggered); when neither side moved, it reuses the plan
instead of validating 1,000 applications again.
"""

from __future__ import annotations

from gitsync.config.schema import UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.sync import reconcile
from gitsync.sync.target import LiveView


class PlanCache:
    """The newest (revision, generation) pair's proposal, under one prune policy."""

    def __init__(
        self, policy: reconcile.PrunePolicy, unknown_keys: UnknownKeys | None = None
    ) -> None:
        self.policy = policy
        self.unknown_keys: UnknownKeys | None = unknown_keys
        self._last: tuple[tuple[str, int], reconcile.Proposal] | None = None

    def propose(self, snapshot: Snapshot, live: LiveView) -> reconcile.Proposal:
        """``reconcile.propose``, reused while neither side moved; raises InvalidConfig."""
        key = (snapshot.revision, live.generation)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        proposal = reconcile.propose(
            snapshot, live, policy=self.policy, unknown_keys=self.unknown_keys
        )
        self._last = (key, proposal)  # only the newest pair is ever asked for again
        return proposal

    def latest(self) -> tuple[str, int, reconcile.Proposal] | None:
        """The newest proposal with the (source revision, live generation) it joined."""
        if self._last is None:
            return None
        (revision, generation), proposal = self._last
        return revision, generation, proposal
