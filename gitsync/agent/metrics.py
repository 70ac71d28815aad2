"""The agent's Prometheus metrics, registered on the API's registry when there is one.

Names follow Argo CD and Flux where they have an equivalent (reconcile duration, git
requests, webhook requests) and qontract-reconcile's commit-age histogram for the
seconds from commit to active (reference/gitops-anchors.md §0.8).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

SYNC_RESULTS = (
    "applied",
    "in-sync",
    "drift",
    "invalid",
    "prune-refused",
    "conflict",
    "failed",
    "source-unavailable",
    "engine-unavailable",
    "backoff",
)
WEBHOOK_RESULTS = ("accepted", "ignored", "unauthorized", "too-large", "disabled", "bad-request")
_RECONCILE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_COMMIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class AgentMetrics:
    """One agent's metrics in ``registry`` (a private one when none is given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.reconcile_duration = Histogram(
            "gitsync_agent_reconcile_duration_seconds",
            "Time of one reconcile: source check, validation, plan and apply.",
            buckets=_RECONCILE_BUCKETS,
            registry=reg,
        )
        self.syncs = Counter(
            "gitsync_agent_syncs", "Reconciles by result.", ["result"], registry=reg
        )
        for result in SYNC_RESULTS:
            self.syncs.labels(result)
        self.commit_to_active = Histogram(
            "gitsync_agent_commit_to_active_seconds",
            "Seconds from a revision's commit (or a directory change) to its generation active.",
            buckets=_COMMIT_BUCKETS,
            registry=reg,
        )
        self.git_requests = Counter(
            "gitsync_agent_git_requests",
            "Git operations against the source by operation (ls-remote, fetch) and result.",
            ["operation", "result"],
            registry=reg,
        )
        self.git_duration = Histogram(
            "gitsync_agent_git_request_duration_seconds",
            "Duration of git operations against the source.",
            ["operation"],
            buckets=_RECONCILE_BUCKETS,
            registry=reg,
        )
        self.webhooks = Counter(
            "gitsync_agent_webhook_requests",
            "Webhook requests by result.",
            ["result"],
            registry=reg,
        )
        for result in WEBHOOK_RESULTS:
            self.webhooks.labels(result)
        self.applied = Info(
            "gitsync_agent_applied_revision",
            "The source revision of the last generation this agent applied or found in sync.",
            registry=reg,
        )
        self.drift = Gauge(
            "gitsync_agent_drift", "1 while the live config differs from the source.", registry=reg
        )
        self.degraded = Gauge(
            "gitsync_agent_degraded",
            "1 while the source or the engine cannot be reached.",
            registry=reg,
        )

    def git(self, operation: str, result: str, seconds: float) -> None:
        self.git_requests.labels(operation, result).inc()
        self.git_duration.labels(operation).observe(seconds)
