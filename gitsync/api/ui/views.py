"""What each page shows, read from the engine and the agent: plain dicts the templates
render. Runs in a worker thread (it reads SQLite)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitsync.api.ui import facts
from gitsync.api.ui.provider import AgentView
from gitsync.api.ui.reads import EngineReads
from gitsync.engine.records import AppId, HistoryEntry, ServeState
from gitsync.errors import NotFound

Row = dict[str, Any]


def _agent_status(agent: AgentView | None, unit: AppId) -> Mapping[str, Any] | None:
    if agent is None or (agent.tenant, agent.application) != (unit.tenant, unit.application):
        return None
    return agent.status()


def units(reads: EngineReads, agent: AgentView | None) -> list[AppId]:
    """Every active deployment unit, plus the agent's even before its first activation."""
    found = list(reads.units())
    if agent is not None:
        own = AppId(agent.tenant, agent.application)
        if own not in found:
            found.append(own)
    return sorted(found, key=lambda a: (a.tenant, a.application, a.instance))


def unit_summary(reads: EngineReads, agent: AgentView | None, unit: AppId) -> Row:
    """One overview row: what runs, from which commit, in sync or not, healthy or not."""
    live = reads.live(unit)
    history = reads.history(unit)
    status = _agent_status(agent, unit)
    active = next((e for e in history if live and e.generation == live.generation), None)
    apps = live.applications if live else []
    runtime_drift = list(live.drift) if live else []
    counts: dict[str, int] = {}
    for app in apps:
        counts[app.status] = counts.get(app.status, 0) + 1
    revisions = (status or {}).get("revisions") or {}
    last_sync = (status or {}).get("lastSync") or {}
    return {
        "tenant": unit.tenant,
        "application": unit.application,
        "generation": live.generation if live else 0,
        "revision": active.revision if active else "",
        "short_revision": facts.short(active.revision if active else None),
        "subject": facts.subject(active.meta) if active else "",
        "author": str(active.meta.get("author", "")) if active else "",
        "committed": facts.iso_when(active.meta.get("time")) if active else "-",
        "activated": facts.when(active.time) if active else "-",
        "deployed_by": facts.deployed_by(active) if active else "-",
        "source": str((status or {}).get("source", {}).get("location", ""))
        or (str(active.meta.get("source", "")) if active else ""),
        "sync": facts.sync_state(status, runtime_drift),
        "health": facts.unit_health(live.runtime if live else "none", apps),
        "runtime": live.runtime if live else "none",
        "runtime_error": live.runtime_error if live else None,
        "app_count": len(apps),
        "app_counts": sorted(counts.items()),
        "watched": status is not None,
        "attempted": facts.short(revisions.get("attempted")),
        "applied": facts.short(revisions.get("applied")),
        "last_result": last_sync.get("result") or "-",
        "last_sync_at": facts.iso_when(last_sync.get("at")),
        "next_poll": facts.iso_when((status or {}).get("nextPoll")),
    }


def overview(reads: EngineReads, agent: AgentView | None) -> list[Row]:
    return [unit_summary(reads, agent, unit) for unit in units(reads, agent)]


def unit_page(reads: EngineReads, agent: AgentView | None, unit: AppId) -> Row:
    """A unit's page: its Serve applications and deployments, drift, the pending change."""
    summary = unit_summary(reads, agent, unit)
    live = reads.live(unit)
    if live is None and not summary["watched"]:
        raise NotFound(f"Unknown application id '{unit.full_string()}'")
    status = _agent_status(agent, unit) or {}
    drift = status.get("drift") or {}
    last = status.get("lastSync") or {}
    pending = agent.pending() if agent is not None and summary["watched"] else None
    if pending is not None and live is not None and pending.generation != live.generation:
        pending = (
            None  # planned against a generation no longer active: the next reconcile plans again
        )
    return {
        **summary,
        "app_total": len(live.applications) if live else 0,
        "runtime_drift": list(live.drift) if live else [],
        "agent_drift": drift.get("summary") if drift.get("detected") else None,
        "last_sync": last,
        "last_error": last.get("error") if last and not last.get("ok") else None,
        "findings": facts.findings(last.get("error")) if last and not last.get("ok") else [],
        "pending": pending,
        "degraded_reason": status.get("degradedReason"),
        "lease": _lease_text(status.get("lease")),
    }


def _lease_text(lease: Mapping[str, Any] | None) -> str | None:
    """The agent's role on its unit's lease, in words (None: the agent keeps no lease)."""
    if not lease:
        return None
    if lease.get("role") == "active":
        return f"this agent holds the unit (lease epoch {lease.get('epoch')})"
    holder = lease.get("holder") or {}
    url = (holder.get("info") or {}).get("url")
    who = f"{holder.get('holder')} ({url})" if url else holder.get("holder") or "unknown"
    return f"standby: the unit is held by {who}"


def active_generation(reads: EngineReads, unit: AppId) -> int:
    return reads.active_generation(unit)


def history_rows(reads: EngineReads, unit: AppId) -> list[Row]:
    active = active_generation(reads, unit)
    return [history_row(entry, active) for entry in reads.history(unit)]


def history_row(entry: HistoryEntry, active: int) -> Row:
    return {
        "generation": entry.generation,
        "active": entry.generation == active,
        "revision": entry.revision,
        "short_revision": facts.short(entry.revision),
        "subject": facts.subject(entry.meta),
        "author": str(entry.meta.get("author", "")),
        "deployed_by": facts.deployed_by(entry),
        "time": facts.when(entry.time),
        "summary": facts.summary_text(entry.summary),
        "rollback_of": entry.rollback_of,
        "health": entry.health,
        "health_message": entry.health_message,
    }


def app_rows(live: ServeState | None) -> list[Row]:
    """The unit's Serve applications with their deployments and replica states."""
    apps = []
    for app in live.applications if live else []:
        apps.append(
            {
                "name": app.name,
                "route_prefix": app.route_prefix or "-",
                "status": app.status,
                "message": app.message,
                "deployments": [
                    {
                        "name": d.name,
                        "status": d.status,
                        "message": d.message,
                        "target": d.target_num_replicas,
                        "replicas": facts.replica_states(d.replicas) or "-",
                    }
                    for d in app.deployments
                ],
            }
        )
    return apps
