"""What the agent remembers between reconciles: its status record and the backoff of
failing revisions.

Flux's lesson (reference/gitops-anchors.md §0.5): the last *attempted* revision and the
last *applied* revision are different facts, and a revision that failed is retried with
exponential backoff and jitter, never in a hot loop, while a new revision is tried at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any


def iso(ts: float | None) -> str | None:
    """Seconds since the epoch as an ISO 8601 UTC timestamp (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one reconcile.

    ``result`` is one of ``applied``, ``in-sync``, ``drift`` (reported, not reverted),
    ``invalid``, ``prune-refused``, ``conflict``, ``failed``, ``source-unavailable``,
    ``engine-unavailable``, ``backoff`` (a failing revision, not retried yet),
    ``standby`` (another agent holds the unit's lease: nothing was read or applied).
    """

    result: str
    revision: str | None
    at: float
    duration_s: float
    reasons: tuple[str, ...] = ()
    generation: int | None = None
    error: str | None = None
    summary: str | None = None  # the plan's one-line summary
    plan: str | None = None  # the plan as text, when something was applied or drifted
    warnings: tuple[str, ...] = ()  # the revision's warnings (unknown keys Ray drops)

    @property
    def ok(self) -> bool:
        return self.result in ("applied", "in-sync", "drift", "standby")

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "ok": self.ok,
            "revision": self.revision,
            "generation": self.generation,
            "at": iso(self.at),
            "durationSeconds": round(self.duration_s, 6),
            "reasons": list(self.reasons),
            "error": self.error,
            "summary": self.summary,
            "plan": self.plan,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Drift:
    """Live config differs from what the source says, and the source has not moved."""

    detected: bool = False
    since: float | None = None
    live_generation: int | None = None
    live_revision: str | None = None
    summary: str | None = None
    healed: int = 0  # how many times --self-heal reverted it

    def to_json(self) -> dict[str, Any]:
        return {
            "detected": self.detected,
            "since": iso(self.since),
            "liveGeneration": self.live_generation,
            "liveRevision": self.live_revision,
            "summary": self.summary,
            "healed": self.healed,
        }


@dataclass(frozen=True)
class AgentStatus:
    """Everything ``GET /api/gitsync/status`` answers."""

    source: dict[str, str]
    tenant: str
    application: str
    self_heal: bool
    started_at: float
    attempted_revision: str | None = None
    applied_revision: str | None = None
    generation: int | None = None
    last_sync: SyncResult | None = None
    last_success_at: float | None = None
    drift: Drift = field(default_factory=Drift)
    degraded: bool = False
    degraded_reason: str | None = None
    next_poll: float | None = None
    backoff: dict[str, Any] | None = None
    reconciles: int = 0
    # The runtime's view: its last error, the health verdict of the active generation
    # (with Ray's failure message) and the applications that are not RUNNING.
    runtime: dict[str, Any] | None = None
    # The unit's lease: this agent's role (active or standby) and who holds it.
    lease: dict[str, Any] | None = None

    def with_(self, **changes: Any) -> AgentStatus:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": dict(self.source),
            "tenant": self.tenant,
            "application": self.application,
            "selfHeal": self.self_heal,
            "startedAt": iso(self.started_at),
            "revisions": {
                "attempted": self.attempted_revision,
                "applied": self.applied_revision,
            },
            "generation": self.generation,
            "lastSync": self.last_sync.to_json() if self.last_sync else None,
            "lastSuccessAt": iso(self.last_success_at),
            "drift": self.drift.to_json(),
            "degraded": self.degraded,
            "degradedReason": self.degraded_reason,
            "nextPoll": iso(self.next_poll),
            "backoff": self.backoff,
            "reconciles": self.reconciles,
            "runtime": self.runtime,
            "lease": self.lease,
        }


class RevisionBackoff:
    """Exponential backoff with jitter for the one revision that keeps failing.

    The n-th consecutive failure of a revision blocks it for ``base * 2**(n-1)`` seconds
    (capped at ``max_s``), of which the upper half is random so that many agents do not
    retry in step. Any other revision is never blocked.
    """

    def __init__(
        self,
        base_s: float = 1.0,
        max_s: float = 300.0,
        *,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self._rng = rng
        self._clock = clock
        self.revision: str | None = None
        self.failures = 0
        self.retry_at = 0.0  # on self._clock
        self._claimed = False  # the automatic retry for this failure was handed out

    def record_failure(self, revision: str) -> float:
        """Count a failure; returns the delay before the revision may be tried again."""
        self.failures = self.failures + 1 if revision == self.revision else 1
        self.revision = revision
        ceiling: float = min(self.max_s, self.base_s * 2.0 ** (self.failures - 1))
        delay = float(ceiling) / 2 + self._rng() * float(ceiling) / 2
        self.retry_at = self._clock() + delay
        self._claimed = False
        return delay

    def record_success(self) -> None:
        """The source's current revision succeeded: whatever failed before is past."""
        self.reset()

    def reset(self) -> None:
        self.revision, self.failures, self.retry_at, self._claimed = None, 0, 0.0, False

    def remaining(self, revision: str) -> float:
        """Seconds until ``revision`` may be tried again (0: now)."""
        if revision != self.revision:
            return 0.0
        return max(0.0, self.retry_at - self._clock())

    def due_in(self) -> float | None:
        """Seconds until the failing revision's automatic retry, None when there is none
        to come (nothing failed, or the retry was already claimed)."""
        if self.revision is None or self._claimed:
            return None
        return max(0.0, self.retry_at - self._clock())

    def claim_retry(self) -> bool:
        """True once per failure when its retry is due: the caller then reconciles. If that
        reconcile cannot even reach the revision (source down), no retry loop follows."""
        if self.due_in() != 0.0:
            return False
        self._claimed = True
        return True

    def to_json(self) -> dict[str, Any] | None:
        if self.revision is None:
            return None
        return {
            "revision": self.revision,
            "failures": self.failures,
            "retryInSeconds": round(self.due_in() or 0.0, 3),
        }
