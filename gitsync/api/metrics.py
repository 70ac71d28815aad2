"""Prometheus metrics of the HTTP API: one registry per app instance.

Request counts and latencies are observed by the middleware; the engine's state
(sessions by state, active generation per application) is read at scrape time by a
custom collector, so ``/metrics`` never shows a stale value.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gitsync.engine import Engine
from gitsync.errors import GitsyncError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Latency buckets in seconds: the API answers reads in well under a millisecond.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class EngineCollector(Collector):
    """Reads the engine when Prometheus scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        generations = GaugeMetricFamily(
            "gitsync_active_generation",
            "Active generation (session id) per deployment unit.",
            labels=["tenant", "application", "instance"],
        )
        sessions = GaugeMetricFamily(
            "gitsync_sessions", "Sessions by tenant and state.", labels=["tenant", "state"]
        )
        try:
            for tenant in self.engine.list_tenants():
                for app in self.engine.list_applications(tenant):
                    info = self.engine.get_application(tenant, app.application, app.instance)
                    labels = [tenant, app.application, app.instance]
                    generations.add_metric(labels, float(info.generation))
            for (tenant, state), count in self.engine.session_counts().items():
                sessions.add_metric([tenant, state], float(count))
        except (GitsyncError, RuntimeError):
            pass  # a closed engine or a tenant deleted mid-scrape: report what we have
        yield generations
        yield sessions


class ApiMetrics:
    """The metrics of one app instance, in their own registry."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gitsync_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gitsync_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.activations = Counter(
            "gitsync_activations",
            "Activations through the API by result.",
            ["result"],
            registry=self.registry,
        )
        for result in ("activated", "dry_run", "conflict", "invalid", "failed"):
            self.activations.labels(result)
        self.registry.register(EngineCollector(engine))
        # Per label set, the two metrics a request updates (labels() costs a lock and a
        # lookup each, per request).
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # as many as the label sets the registry already holds
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def activation(self, result: str) -> None:
        self.activations.labels(result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def activation_result(exc: BaseException | None) -> str:
    """The ``result`` label for an activation attempt that raised ``exc`` (None: success)."""
    if exc is None:
        return "activated"
    code = exc.error_code if isinstance(exc, GitsyncError) else ""
    if code == "ACTIVATION_CONFLICT":
        return "conflict"
    if code in ("INVALID_APPLICATION_PACKAGE", "BAD_REQUEST"):
        return "invalid"
    return "failed"
