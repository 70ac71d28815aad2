"""``gitsync history`` and ``gitsync rollback``."""

from __future__ import annotations

import json
import sys
import time

from gitsync.config import model
from gitsync.engine.records import HistoryEntry
from gitsync.output import echo, use_color
from gitsync.plan.diff import diff
from gitsync.plan.render import plan_to_json, render_text
from gitsync.sync.spec import TargetSpec
from gitsync.sync.target import LiveView


def history(
    target: TargetSpec, *, tenant: str, application: str, output: str = "text", limit: int = 20
) -> int:
    """Print the newest ``limit`` generations: time, kind, source revision, summary."""
    engine = target.open(read_only=True)
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
    """Re-apply an older generation's package; print the plan it applied and which
    generation it copied."""
    engine = target.open()
    try:
        before = engine.live(tenant, application)
        result = engine.rollback(tenant, application, generation)
        after = engine.live(tenant, application)
    finally:
        engine.close()
    newest = after.history[0] if after.history else None
    copied = newest.rollback_of if newest and newest.generation == result.generation else None
    copied = copied if copied is not None else generation
    the_plan = diff(_model(after), _model(before))
    revision = newest.revision if newest is not None else None
    if output == "json":
        report = {
            "generation": result.generation,
            "previousGeneration": before.generation,
            "rolledBackTo": copied,
            "revision": revision,
            "plan": plan_to_json(the_plan),
        }
        echo(json.dumps(report, indent=2))
        return 0
    echo(render_text(the_plan, color=use_color(sys.stdout)).rstrip("\n"))
    shown = f" (revision {revision[:12]})" if revision else ""
    echo(
        f"Rolled back to generation {copied}{shown}: now active as generation "
        f"{result.generation} (was {before.generation})."
    )
    return 0


def _model(view: LiveView) -> model.DeployConfig:
    return model.from_config(view.config or {"applications": []}, view.code_digests)
