"""Small facts the pages derive from engine records: health, sync state, who deployed a
generation, the commit's subject, times. Pure functions over plain values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gitsync.engine.records import AppLive, HistoryEntry

NO_RUNTIME = "no runtime"
# Worst first: a unit's health is the worst of its applications'.
_HEALTH_ORDER = ("DEPLOY_FAILED", "UNHEALTHY", "DEPLOYING", "NOT_STARTED", "DELETING", "RUNNING")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_FINDING = re.compile(
    r"^(?P<where>[^\s:][^:]*:\d+:\d+): (?P<severity>error|warning): (?P<rest>.*)$"
)


def unit_health(runtime: str, apps: Sequence[AppLive]) -> str:
    """RUNNING, DEPLOYING, DEPLOY_FAILED, UNHEALTHY, or "no runtime" (the state-only engine)."""
    if runtime == "none":
        return NO_RUNTIME
    if not apps:
        return "NOT_STARTED"
    statuses = {app.status for app in apps}
    for status in _HEALTH_ORDER:
        if status in statuses:
            return status
    return sorted(statuses)[0]


def sync_state(status: Mapping[str, Any] | None, runtime_drift: Sequence[str]) -> str:
    """in sync / out of sync / failed / degraded / unknown (no agent watches the unit)."""
    if runtime_drift:
        return "out of sync"
    if status is None:
        return "unknown"
    if status.get("degraded"):
        return "degraded"
    drift = status.get("drift") or {}
    if drift.get("detected"):
        return "out of sync"
    last = status.get("lastSync") or {}
    result = last.get("result")
    if result in ("applied", "in-sync"):
        return "in sync"
    if result == "backoff" or (result and not last.get("ok")):
        return "failed"
    return "unknown"


def deployed_by(entry: HistoryEntry) -> str:
    """Who or what made a generation: git, push, directory, Serve REST, Vespa API,
    rollback or scale (a recorded ``via`` wins over what the record implies)."""
    if entry.kind == "rollback":  # it copies its target's metadata, ``via`` included
        return "rollback"
    via = entry.meta.get("via")
    if via:
        return str(via)
    if entry.meta.get("source") == "scale":
        return "scale"
    if entry.kind != "deploy":
        return entry.kind
    if "sha" in entry.meta or _SHA.match(entry.revision):
        return "git"
    if entry.revision.startswith("dir:") or "source" in entry.meta:
        return "directory"
    if not entry.revision:
        return "Vespa API"
    return "Serve REST"


def subject(meta: Mapping[str, str]) -> str:
    """The first line of the commit message, '' when there is none."""
    return str(meta.get("message", "")).split("\n", 1)[0]


def short(revision: str | None) -> str:
    if not revision:
        return "-"
    return revision[:12]


def when(ts: float | None) -> str:
    """Seconds since the epoch as ``2026-12-01 22:31:05 UTC``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_when(text: str | None) -> str:
    """An ISO 8601 stamp (the agent's status) in the pages' own format."""
    if not text:
        return "-"
    try:
        return when(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return text


def findings(error: str | None) -> list[dict[str, str]]:
    """The ``file:line:col: severity: path: message`` lines of a sync error."""
    out: list[dict[str, str]] = []
    for line in (error or "").splitlines():
        match = _FINDING.match(line.strip())
        if match:
            out.append(match.groupdict())
    return out


def summary_text(summary: Mapping[str, int]) -> str:
    """A history record's change counts, as ``1 create, 2 reconfigure``."""
    parts = [f"{count} {name}" for name, count in summary.items() if count]
    return ", ".join(parts) or "no changes"


def replica_states(replicas: Iterable[Mapping[str, Any]]) -> str:
    """``2 RUNNING, 1 STARTING`` from Ray's replica records."""
    counts: dict[str, int] = {}
    for replica in replicas:
        state = str(replica.get("state", "UNKNOWN"))
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
