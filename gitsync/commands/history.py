"""``gitsync history`` and ``gitsync rollback``."""

from __future__ import annotations

import json
import time

from gitsync.engine.records import HistoryEntry
from gitsync.output import echo
from gitsync.sync.spec import TargetSpec


def history(
    target: TargetSpec, *, tenant: str, application: str, output: str = "text", limit: int = 20
) -> int:
    """Print the newest ``limit`` generations: time, kind, source revision, summary."""
    engine = target.open()
    try:
        entries = engine.history(tenant, application)[:limit]
    finally:
        engine.close()
    if output == "json":
        echo(json.dumps([entry.to_json() for entry in entries], indent=2))
        return 0
    if not entries:
        echo(f"No generations yet for {tenant}.{application}.")
        return 0
    echo(f"{'GEN':>5}  {'TIME (UTC)':19}  {'KIND':8}  {'REVISION':12}  SUMMARY")
    for entry in entries:
        echo(_row(entry))
    return 0


def _row(entry: HistoryEntry) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry.time))
    kind = entry.kind if entry.rollback_of is None else f"rollback→{entry.rollback_of}"
    summary = (
        ", ".join(f"{count} {name}" for name, count in entry.summary.items() if count)
        or "no change"
    )
    message = entry.meta.get("message", "").splitlines()[0] if entry.meta.get("message") else ""
    tail = f"  {message}" if message else ""
    return f"{entry.generation:>5}  {when}  {kind:8}  {entry.revision[:12]:12}  {summary}{tail}"


def rollback(
    target: TargetSpec,
    *,
    tenant: str,
    application: str,
    generation: int | None,
    output: str = "text",
) -> int:
    """Activate ``generation``'s package again (default: the previous one) as a new one."""
    engine = target.open()
    try:
        result = engine.rollback(tenant, application, generation)
    finally:
        engine.close()
    if output == "json":
        echo(json.dumps({"generation": result.generation, "rolledBackTo": generation}, indent=2))
    else:
        target_text = (
            f"generation {generation}" if generation is not None else "the previous generation"
        )
        echo(f"Rolled back to {target_text}: now active as generation {result.generation}.")
    return 0
