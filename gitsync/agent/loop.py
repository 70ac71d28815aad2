"""The agent: trigger → snapshot → validate → plan → apply → record → report.

Reconciliation is level-triggered: every reconcile reads the live state and compares
the desired config with it, never with "the last thing seen". The plan for a (source
revision, live generation) pair is kept, because a generation's config never changes
once active; so a no-op reconcile costs one cheap source check and one live read.

One worker thread runs every reconcile, one at a time. Triggers (the poll schedule, the
directory watcher, webhooks, git hooks) only ask for one with :meth:`Agent.request`;
requests that arrive while a reconcile runs are merged into the next one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitsync.agent.lease import LeaseKeeper
from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.plan_cache import PlanCache
from gitsync.agent.source import AgentSource
from gitsync.agent.state import AgentStatus, Drift, RevisionBackoff, SyncResult
from gitsync.agent.triggers import PollSchedule
from gitsync.config.schema import UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.errors import (
    ActivationConflict,
    EngineUnavailable,
    GitsyncError,
    InvalidConfig,
    LeaseHeld,
    PruneRefused,
    SourceError,
)
from gitsync.plan.render import render_text, summary_line
from gitsync.sync import reconcile
from gitsync.sync.target import LeaseToken, LiveView, Target

log = logging.getLogger("gitsync.agent")


@dataclass(frozen=True)
class AgentConfig:
    tenant: str = "default"
    application: str = "default"
    interval_s: float = 30.0
    jitter: float = 0.2  # each poll waits interval * (1 + up to jitter)
    self_heal: bool = False
    policy: reconcile.PrunePolicy = reconcile.PrunePolicy()
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    unknown_keys: UnknownKeys | None = None  # None: the repository's setting, else error


class Agent:
    """Keeps one deployment unit (tenant, application) in line with one source."""

    def __init__(
        self,
        source: AgentSource,
        target: Target,
        config: AgentConfig = AgentConfig(),
        *,
        metrics: AgentMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.target = target
        self.config = config
        self.metrics = metrics if metrics is not None else AgentMetrics()
        self.clock = clock
        self.backoff = RevisionBackoff(config.backoff_base_s, config.backoff_max_s)
        self.poll = PollSchedule(config.interval_s, config.jitter, lambda: self.request("poll"))
        self._status = AgentStatus(
            source=source.describe(),
            tenant=config.tenant,
            application=config.application,
            self_heal=config.self_heal,
            started_at=clock(),
        )
        self._cond = threading.Condition()
        self._reasons: set[str] = set()
        self._requested = 0  # tickets handed out
        self._done = 0  # the highest ticket whose reconcile has finished
        self._stopping = False
        self._plans = PlanCache(config.policy, config.unknown_keys)
        self._warned: str | None = None  # the revision whose warnings were logged last
        self._changed_at: float | None = None  # first directory change not yet applied
        self.lease: LeaseKeeper | None = None  # one agent per unit; None: no lease kept

    # -- triggers ------------------------------------------------------------------

    def request(self, reason: str) -> int:
        """Ask for a reconcile; returns a ticket for :meth:`wait_for`."""
        with self._cond:
            if reason == "watch" and self._changed_at is None:
                self._changed_at = self.clock()
            self._reasons.add(reason)
            self._requested += 1
            self._cond.notify_all()
            return self._requested

    def wait_for(self, ticket: int, timeout_s: float) -> bool:
        """Wait until a reconcile that began after ``ticket`` was issued has finished."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._done < ticket and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._done >= ticket

    def stop(self) -> None:
        """Finish the reconcile under way, then leave :meth:`run`."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    @property
    def status(self) -> AgentStatus:
        with self._cond:
            status = self._status
        lease = self.lease.to_json() if self.lease is not None else None
        return status.with_(
            next_poll=self.poll.next_run(), backoff=self.backoff.to_json(), lease=lease
        )

    def pending(self) -> tuple[str, int, reconcile.Proposal] | None:
        """The newest plan: (source revision, live generation, proposal), or None."""
        return self._plans.latest()

    # -- the loop ------------------------------------------------------------------

    def run(self) -> None:
        """Reconcile at start, then whenever asked, until :meth:`stop`."""
        self.poll.start()
        self.request("startup")
        while True:
            with self._cond:
                while not self._stopping and not self._reasons:
                    self._cond.wait(self._sleep_s())
                    self.poll.run_pending()
                    if not self._reasons and self.backoff.claim_retry():
                        self._reasons.add("retry")
                        self._requested += 1
                if self._stopping:
                    self._cond.notify_all()
                    return
                reasons = tuple(sorted(self._reasons))
                self._reasons.clear()
                ticket = self._requested
            try:
                self.reconcile_once(reasons)
            finally:
                with self._cond:
                    self._done = max(self._done, ticket)
                    self._cond.notify_all()

    def _sleep_s(self) -> float:
        waits = [1.0, self.poll.idle_s()]
        retry = self.backoff.due_in()
        if retry is not None:
            waits.append(retry)
        return max(0.0, min(waits))

    # -- one reconcile -------------------------------------------------------------

    def reconcile_once(self, reasons: tuple[str, ...] = ("manual",)) -> SyncResult:
        """One reconcile now, on the calling thread: read the source and the live state,
        then apply, report drift, or do nothing. Never raises: every failure, even a
        bug, becomes the returned (and recorded) result."""
        started = time.perf_counter()
        try:
            outcome = self._reconcile(reasons, started)
        except Exception as exc:  # a bug must not take the agent down: report, carry on
            log.exception("reconcile failed unexpectedly")
            error = f"internal error: {type(exc).__name__}: {exc}"
            outcome = self._result("failed", None, started, reasons, error=error)
        self.metrics.reconcile_duration.observe(outcome.duration_s)
        self.metrics.syncs.labels(outcome.result).inc()
        with self._cond:
            # A skipped reconcile (backoff) leaves the failure it skipped on display.
            last = self._status.last_sync if outcome.result == "backoff" else outcome
            self._status = self._status.with_(
                last_sync=last, reconciles=self._status.reconciles + 1
            )
        # Steady states (in sync, drift already warned about, backing off) are DEBUG.
        level = logging.INFO if outcome.result == "applied" else logging.DEBUG
        if not outcome.ok and outcome.result != "backoff":
            level = logging.WARNING
        detail = [f"revision {str(outcome.revision)[:12]}"] if outcome.revision else []
        if outcome.generation is not None:
            detail.append(f"generation {outcome.generation}")
        if outcome.summary and outcome.result != "in-sync":
            detail.append(outcome.summary)
        if outcome.error:
            detail.append(outcome.error.splitlines()[0])
        log.log(
            level,
            "reconcile %s: %s",
            outcome.result,
            ", ".join(detail) or "-",
            extra={"sync": outcome.to_json()},
        )
        return outcome

    def _result(
        self, result: str, revision: str | None, started: float, reasons: tuple[str, ...], **kw: Any
    ) -> SyncResult:
        return SyncResult(
            result, revision, self.clock(), time.perf_counter() - started, reasons, **kw
        )

    def _reconcile(self, reasons: tuple[str, ...], started: float) -> SyncResult:
        if self.lease is not None and self.lease.token is None:
            summary = f"unit held by {self.lease.held_by()}"
            return self._result("standby", None, started, reasons, summary=summary)
        try:
            revision = self.source.revision()
            if self.backoff.remaining(revision) > 0:
                return self._result(
                    "backoff", revision, started, reasons, error=self._status_error()
                )
            snapshot = self.source.snapshot(revision)
        except SourceError as exc:
            return self._degraded("source-unavailable", exc, None, started, reasons)
        except GitsyncError as exc:  # e.g. a directory over the size caps: not retried hot,
            return self._result("failed", None, started, reasons, error=exc.message)  # polls do
        revision = snapshot.revision
        self._set(attempted_revision=revision)
        try:
            live = self.target.live(self.config.tenant, self.config.application)
            proposal = self._plans.propose(snapshot, live)
            return self._converge(proposal, live, started, reasons)
        except EngineUnavailable as exc:
            return self._degraded("engine-unavailable", exc, revision, started, reasons)
        except InvalidConfig as exc:
            return self._failed("invalid", exc, revision, started, reasons)
        except PruneRefused as exc:
            return self._failed("prune-refused", exc, revision, started, reasons)
        except LeaseHeld as exc:  # our lease ran out, or the engine says it is not ours
            if self.lease is not None:
                self.lease.lost(exc)
            return self._result("standby", revision, started, reasons, error=exc.message)
        except ActivationConflict as exc:
            return self._failed("conflict", exc, revision, started, reasons)
        except GitsyncError as exc:
            return self._failed("failed", exc, revision, started, reasons)

    def _converge(
        self, proposal: reconcile.Proposal, live: LiveView, started: float, reasons: tuple[str, ...]
    ) -> SyncResult:
        revision = proposal.snapshot.revision
        plan = proposal.plan
        summary = summary_line(plan)
        warnings = tuple(proposal.warnings)
        if warnings and self._warned != revision:
            for line in warnings:
                log.warning("revision %s: %s", revision[:12], line)
        self._warned = revision
        self._observe_runtime(live)
        if proposal.in_sync:
            if live.runtime_drift:
                return self._runtime_drift(live, revision, started, reasons)
            self._succeeded(
                revision, live.generation, drift=Drift(healed=self._status.drift.healed)
            )
            self._changed_at = None
            return self._result(
                "in-sync",
                revision,
                started,
                reasons,
                generation=live.generation,
                summary=summary,
                warnings=warnings,
            )
        deployed_before = revision == self._status.applied_revision or any(
            entry.revision == revision for entry in live.history
        )
        drifted = plan.has_changes and deployed_before
        previous = self._status.drift
        # A "sync" request (the web page's Sync now) reverts drift once, as --self-heal does.
        if drifted and not (self.config.self_heal or "sync" in reasons):
            drift = self._drift_seen(live, summary)
            if not previous.detected or previous.live_generation != live.generation:
                log.warning(
                    "drift: generation %s (revision %s) differs from the source at %s: %s",
                    live.generation,
                    live.revision,
                    revision,
                    summary,
                    extra={"drift": drift.to_json()},
                )
            self._succeeded(revision, None, drift=drift)
            return self._result(
                "drift",
                revision,
                started,
                reasons,
                generation=live.generation,
                summary=summary,
                plan=render_text(plan, color=False),
                warnings=warnings,
            )
        applied = reconcile.apply(
            proposal,
            self.target,
            tenant=self.config.tenant,
            application=self.config.application,
            via="push" if "hook" in reasons else None,  # the post-receive hook asked
            lease=self._fence(),
        )
        healed = previous.healed + 1 if drifted else previous.healed
        if drifted:
            log.warning("drift reverted (--self-heal): generation %s", applied.generation)
        self._succeeded(revision, applied.generation, drift=Drift(healed=healed))
        self._observe_commit_age(proposal.snapshot)
        return self._result(
            "applied",
            revision,
            started,
            reasons,
            generation=applied.generation,
            summary=summary,
            plan=render_text(plan, color=False),
            warnings=warnings,
        )

    def _runtime_drift(
        self, live: LiveView, revision: str, started: float, reasons: tuple[str, ...]
    ) -> SyncResult:
        """The engine is in sync but the runtime is not: someone deployed around it."""
        previous = self._status.drift
        summary = f"runtime differs from generation {live.generation}: " + "; ".join(
            live.runtime_drift[:3]
        )
        if self.config.self_heal or "sync" in reasons:
            generation = self.target.reapply(
                self.config.tenant, self.config.application, self._fence()
            )
            log.warning(
                "runtime drift reverted (--self-heal): generation %s re-applied", generation
            )
            self._succeeded(revision, generation, drift=Drift(healed=previous.healed + 1))
            return self._result(
                "applied", revision, started, reasons, generation=generation, summary=summary
            )
        drift = self._drift_seen(live, summary)
        if not previous.detected or previous.summary != summary:
            log.warning("drift: %s", summary, extra={"drift": drift.to_json()})
        self._succeeded(revision, None, drift=drift)
        return self._result(
            "drift", revision, started, reasons, generation=live.generation, summary=summary
        )

    def _drift_seen(self, live: LiveView, summary: str) -> Drift:
        """Drift as reported (not reverted): since when, on which generation, and what."""
        previous = self._status.drift
        since = previous.since if previous.detected else self.clock()
        return Drift(True, since, live.generation, live.revision, summary, previous.healed)

    def _observe_runtime(self, live: LiveView) -> None:
        """Keep the runtime's health in the status, and log a new failure once."""
        latest = live.history[0] if live.history else None
        unhealthy = [
            {"name": app.name, "status": app.status, "message": app.explanation()}
            for app in live.applications
            if app.status not in ("RUNNING", "DEPLOYING", "NOT_STARTED")
        ]
        # Not failed (yet), with Ray's reason, e.g. a replica waiting to be scheduled.
        waiting = [
            {"name": app.name, "status": app.status, "message": app.explanation()}
            for app in live.applications
            if app.status in ("DEPLOYING", "NOT_STARTED")
        ]
        failure = next((e for e in live.history if e.health == "failed"), None)
        runtime = {
            "name": live.runtime,
            "error": live.runtime_error,
            "health": latest.health if latest is not None else "",
            "healthMessage": latest.health_message if latest is not None else "",
            "lastFailure": (
                {"generation": failure.generation, "message": failure.health_message}
                if failure is not None
                else None
            ),
            "unhealthy": unhealthy,
            "waiting": waiting,
        }
        before = self._status.runtime or {}
        if runtime["error"] and runtime["error"] != before.get("error"):
            log.warning("runtime %s: %s", live.runtime, runtime["error"])
        failed = latest is not None and latest.health == "failed"
        if (
            latest is not None
            and failed
            and runtime["healthMessage"] != before.get("healthMessage")
        ):
            log.warning(
                "generation %s failed its health gate: %s", latest.generation, latest.health_message
            )
        self._set(runtime=runtime)

    def _fence(self) -> LeaseToken | None:
        """What an apply is fenced with: our lease now (LeaseHeld if it ran out)."""
        if self.lease is None:
            return None
        token = self.lease.token
        if token is None:
            raise LeaseHeld(
                f"the lease ran out before applying; unit held by {self.lease.held_by()}"
            )
        return token

    # -- recording -----------------------------------------------------------------

    def _set(self, **changes: Any) -> None:
        with self._cond:
            self._status = self._status.with_(**changes)

    def _status_error(self) -> str | None:
        last = self._status.last_sync
        return last.error if last is not None else None

    def _succeeded(self, revision: str, generation: int | None, *, drift: Drift) -> None:
        self.backoff.record_success()
        changes: dict[str, Any] = {
            "drift": drift,
            "degraded": False,
            "degraded_reason": None,
            "last_success_at": self.clock(),
        }
        if generation is not None:
            changes.update(applied_revision=revision, generation=generation)
            if (self._status.applied_revision, self._status.generation) != (revision, generation):
                self.metrics.applied.info({"revision": revision, "generation": str(generation)})
        self._set(**changes)
        self.metrics.drift.set(1 if drift.detected else 0)
        self.metrics.degraded.set(0)

    def _failed(
        self,
        result: str,
        exc: GitsyncError,
        revision: str,
        started: float,
        reasons: tuple[str, ...],
    ) -> SyncResult:
        delay = self.backoff.record_failure(revision)
        self._set(degraded=False, degraded_reason=None)
        self.metrics.degraded.set(0)
        log.warning("revision %s failed (%s); retrying it in %.1f s", revision, result, delay)
        return self._result(result, revision, started, reasons, error=exc.message)

    def _degraded(
        self,
        result: str,
        exc: GitsyncError,
        revision: str | None,
        started: float,
        reasons: tuple[str, ...],
    ) -> SyncResult:
        # Not the revision's fault: keep the last good generation, retry at the next trigger.
        self._set(degraded=True, degraded_reason=exc.message)
        self.metrics.degraded.set(1)
        return self._result(result, revision, started, reasons, error=exc.message)

    def _observe_commit_age(self, snapshot: Snapshot) -> None:
        committed: float | None = None
        stamp = snapshot.meta.get("time")
        if stamp:
            try:
                committed = datetime.fromisoformat(stamp).timestamp()
            except ValueError:
                committed = None
        if committed is None:
            committed = self._changed_at
        self._changed_at = None
        if committed is not None:
            self.metrics.commit_to_active.observe(max(0.0, self.clock() - committed))
