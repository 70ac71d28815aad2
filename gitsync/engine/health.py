"""The health gate, engine side: which applications decide a generation, and which
generation an automatic rollback goes back to.

A managed runtime (``ray.py``) watches the changed Serve applications after each
activation and reports a ``GateOutcome``; the engine records it in history and, when
the generation failed and automatic rollback is on, re-applies the generation that was
active right before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gitsync.engine.records import ChangeActions, HistoryEntry

PENDING = "pending"
HEALTHY = "healthy"
FAILED = "failed"
#: Entries the none runtime records carry no verdict ("") and count as good.
GOOD = ("", HEALTHY)
#: What the generation before a failed one may be for a rollback to it: good, or
#: superseded before its verdict (never seen unhealthy).
ROLLBACK_OK = (*GOOD, "superseded")


def gated_apps(actions: ChangeActions) -> tuple[str, ...]:
    """The Serve applications a generation creates or changes, sorted."""
    names = set(actions.create)
    names.update(str(entry["clusterName"]) for entry in actions.restart)
    names.update(str(entry["application"]) for entry in [*actions.reconfigure, *actions.scale])
    return tuple(sorted(names))


class RollbackDecision(NamedTuple):
    """Where an automatic rollback goes: ``target`` (None: no rollback) and, when there
    is none, why (empty when there is nothing to report, e.g. a newer generation came)."""

    target: HistoryEntry | None
    reason: str = ""


def rollback_target(
    entries: Sequence[HistoryEntry], failed: int, active: int | None, previous: int
) -> RollbackDecision:
    """The generation to go back to after ``failed`` failed its gate: exactly the one
    that was active right before it (``previous``), whatever it held, an empty config
    included; never an older one, which could revive what was deleted since. No
    rollback when ``failed`` is no longer active (a newer generation came), was itself
    a rollback (no loops), came when nothing was active (after a shutdown), or when the
    generation before it was itself unhealthy."""
    if active != failed:
        return RollbackDecision(None)
    by_generation = {entry.generation: entry for entry in entries}
    failed_entry = by_generation.get(failed)
    if failed_entry is None or failed_entry.kind != "deploy":
        return RollbackDecision(None)
    if previous <= 0:
        return RollbackDecision(
            None, "no automatic rollback: nothing was active before this generation"
        )
    before = by_generation.get(previous)
    if before is None:
        return RollbackDecision(
            None, f"no automatic rollback: generation {previous} before it is not in history"
        )
    if before.health not in ROLLBACK_OK:
        return RollbackDecision(
            None,
            f"no automatic rollback: generation {previous} before it was {before.health} "
            "too; not reaching further back",
        )
    return RollbackDecision(before)
