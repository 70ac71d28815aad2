"""The agent's plans, kept per (source revision, live generation).

A generation's config never changes once active, and a revision's files never change,
so the plan between them is computed once. Every reconcile still reads the live state
(that is what makes it level-triggered); when neither side moved, it reuses the plan
instead of validating 1,000 applications again.
"""

from __future__ import annotations

from collections.abc import Mapping

from gitsync.config.snapshot import Snapshot
from gitsync.engine.records import DeploySource, HistoryEntry
from gitsync.sync import reconcile
from gitsync.sync.target import Applied, LiveView, Target


class PlanCache:
    def __init__(
        self, target: Target, tenant: str, application: str, policy: reconcile.PrunePolicy
    ) -> None:
        self.target = target
        self.tenant = tenant
        self.application = application
        self.policy = policy
        self._last: tuple[tuple[str, int], reconcile.Proposal] | None = None

    def propose(self, snapshot: Snapshot, live: LiveView) -> reconcile.Proposal:
        """``reconcile.propose`` against ``live`` (already read); raises InvalidConfig."""
        key = (snapshot.revision, live.generation)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        proposal = reconcile.propose(
            snapshot,
            _LiveOnce(self.target, live),
            tenant=self.tenant,
            application=self.application,
            policy=self.policy,
        )
        self._last = (key, proposal)  # only the newest pair is ever asked for again
        return proposal

    def latest(self) -> tuple[str, int, reconcile.Proposal] | None:
        """The newest proposal with the (source revision, live generation) it joined."""
        if self._last is None:
            return None
        (revision, generation), proposal = self._last
        return revision, generation, proposal


class _LiveOnce:
    """A Target whose ``live`` answers with a view already read (propose reads it once)."""

    def __init__(self, target: Target, view: LiveView) -> None:
        self._target = target
        self._view = view

    def live(self, tenant: str, application: str) -> LiveView:
        return self._view

    def deploy(
        self,
        files: Mapping[str, bytes],
        *,
        tenant: str,
        application: str,
        source: DeploySource,
        force: bool = False,
    ) -> Applied:
        return self._target.deploy(
            files, tenant=tenant, application=application, source=source, force=force
        )

    def history(self, tenant: str, application: str) -> list[HistoryEntry]:
        return self._target.history(tenant, application)

    def rollback(self, tenant: str, application: str, generation: int | None) -> Applied:
        return self._target.rollback(tenant, application, generation)

    def reapply(self, tenant: str, application: str) -> int:
        return self._target.reapply(tenant, application)

    def close(self) -> None:
        """The wrapped target belongs to the agent, not to this view."""
