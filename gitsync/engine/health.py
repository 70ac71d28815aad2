"""The health gate, engine side: which applications decide a generation, and which
generation an automatic rollback goes back to.

A managed runtime (``ray.py``) watches the changed Serve applications after each
activation and reports a ``GateOutcome``; the engine records it in history and, when
the generation failed and automatic rollback is on, re-applies the last good one.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitsync.engine.records import ChangeActions, HistoryEntry

PENDING = "pending"
HEALTHY = "healthy"
FAILED = "failed"
#: Entries the none runtime records carry no verdict ("") and count as good.
GOOD = ("", HEALTHY)


def gated_apps(actions: ChangeActions) -> tuple[str, ...]:
    """The Serve applications a generation creates or changes, sorted."""
    names = set(actions.create)
    names.update(str(entry["clusterName"]) for entry in actions.restart)
    names.update(str(entry["application"]) for entry in [*actions.reconfigure, *actions.scale])
    return tuple(sorted(names))


def rollback_target(
    entries: Sequence[HistoryEntry], failed: int, active: int | None
) -> HistoryEntry | None:
    """The generation to go back to after ``failed`` failed its gate: the newest older
    good one. None when ``failed`` is no longer active (a newer generation came) or was
    itself a rollback (no loops)."""
    if active != failed:
        return None
    by_generation = {entry.generation: entry for entry in entries}
    failed_entry = by_generation.get(failed)
    if failed_entry is None or failed_entry.kind != "deploy":
        return None
    older = [e for e in entries if e.generation < failed and e.health in GOOD]
    return max(older, key=lambda e: e.generation, default=None)
