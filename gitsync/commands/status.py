"""``gitsync status``: applications and their statuses, the active generation, revisions and drift."""

from __future__ import annotations

import json
import sys
from typing import Any

from gitsync.config.schema import UnknownKeys
from gitsync.errors import GitsyncError, NotFound
from gitsync.output import echo, paint, use_color
from gitsync.plan.render import plan_to_json, summary_line
from gitsync.sources.spec import SourceSpec, read_source
from gitsync.sync import reconcile
from gitsync.sync.spec import TargetSpec
from gitsync.sync.target import LiveView

_GOOD = {"RUNNING", "HEALTHY"}


def status(
    target: TargetSpec,
    *,
    source: SourceSpec | None = None,
    tenant: str = "default",
    application: str = "default",
    output: str = "text",
    unknown_keys: UnknownKeys | None = None,
) -> int:
    """Print the live state of a deployment unit, and with ``source`` how it differs."""
    engine = target.open(read_only=True)
    try:
        live = engine.live(tenant, application)
        try:
            lease = engine.lease(tenant, application)
        except NotFound:  # an engine from before the agents' leases: no holder to show
            lease = None
    finally:
        engine.close()
    drift = _drift(source, live, unknown_keys) if source is not None else None
    report: dict[str, Any] = {
        "tenant": tenant,
        "application": application,
        "generation": live.generation,
        "runtime": live.runtime,
        "lastAppliedRevision": live.revision,
        "applications": [
            {
                "name": app.name,
                "status": app.status,
                "message": app.explanation(),
                "route_prefix": app.route_prefix,
                "deployments": {d.name: d.status for d in app.deployments},
            }
            for app in live.applications
        ],
        "warnings": live.warnings,
        # The agent acting on the unit: its lease (one agent per unit, others stand by).
        "agent": lease.to_json() if lease is not None else None,
    }
    if drift is not None:
        report["source"] = drift
    if output == "json":
        echo(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _drift(source: SourceSpec, live: LiveView, unknown_keys: UnknownKeys | None) -> dict[str, Any]:
    """Compare the source with the live state: the plan a sync would apply."""
    try:
        snapshot = read_source(source)
        proposal = reconcile.propose(snapshot, live, unknown_keys=unknown_keys)
    except GitsyncError as exc:
        return {"location": source.location, "error": exc.message, "inSync": False}
    return {
        "location": source.location,
        "revision": snapshot.revision,
        "inSync": not proposal.plan.has_changes,
        "plan": plan_to_json(proposal.plan),
        "summary": summary_line(proposal.plan),
        "warnings": proposal.warnings,
    }


def _agent_line(lease: dict[str, Any] | None) -> str:
    if lease is None:
        return "agent: none has held this unit"
    url = lease["info"].get("url")
    who = f"{lease['holder']} ({url})" if url else lease["holder"]
    if not lease["held"]:
        return f"agent: none (the lease of {who} expired at {lease['expiresAt']})"
    return f"agent: {who}, lease epoch {lease['epoch']}, expires in {lease['expiresInSeconds']:g} s"


def _print(report: dict[str, Any]) -> None:
    color = use_color(sys.stdout)
    unit = f"{report['tenant']}.{report['application']}"
    if not report["generation"]:
        echo(f"{unit}: nothing deployed yet (runtime: {report['runtime']})")
    else:
        revision = report["lastAppliedRevision"] or "-"
        echo(
            f"{unit}: generation {report['generation']}, revision {revision[:12]}, runtime {report['runtime']}"
        )
    echo(f"  {_agent_line(report['agent'])}")
    for app in report["applications"]:
        state = paint(app["status"], "green" if app["status"] in _GOOD else "red", color)
        echo(f"  {app['name']:24} {state:10} {app['route_prefix'] or '-'}")
        for name, dstatus in sorted(app["deployments"].items()):
            echo(f"    {name:22} {paint(dstatus, 'green' if dstatus in _GOOD else 'red', color)}")
        if app["status"] not in _GOOD and app["message"]:
            echo(f"    message: {app['message']}")
    for line in report["warnings"]:
        echo(paint(f"  {line}", "yellow", color))
    source = report.get("source")
    if source:
        for line in source.get("warnings") or []:
            echo(paint(f"source: {line}", "yellow", color))
        if "error" in source:
            echo(paint(f"source {source['location']}: {source['error']}", "red", color))
        elif source["inSync"]:
            echo(paint(f"source {source['revision'][:16]}: in sync", "green", color))
        else:
            echo(
                paint(
                    f"source {source['revision'][:16]}: drift — {source['summary']}",
                    "yellow",
                    color,
                )
            )
