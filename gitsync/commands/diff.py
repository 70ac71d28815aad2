"""``gitsync diff``: what a sync would change, changing nothing (kubectl diff exit codes)."""

from __future__ import annotations

import json
import sys

from gitsync.config.schema import UnknownKeys
from gitsync.output import echo, use_color, warn_lines
from gitsync.plan.render import plan_to_json, render_text
from gitsync.sources.spec import SourceSpec, read_source
from gitsync.sync import reconcile
from gitsync.sync.spec import TargetSpec

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 1


def diff(
    source: SourceSpec,
    target: TargetSpec,
    *,
    tenant: str = "default",
    application: str = "default",
    output: str = "text",
    policy: reconcile.PrunePolicy = reconcile.DEFAULT_POLICY,
    unknown_keys: UnknownKeys | None = None,
) -> int:
    """Print the plan from the live state to ``source``; exit 1 when it changes anything."""
    snapshot = read_source(source)
    engine = target.open(read_only=True)
    try:
        live = engine.live(tenant, application)
    finally:
        engine.close()
    proposal = reconcile.propose(snapshot, live, policy=policy, unknown_keys=unknown_keys)
    if output == "json":
        report = plan_to_json(proposal.plan)
        report["revision"] = snapshot.revision
        report["liveGeneration"] = proposal.live.generation
        report["warnings"] = proposal.warnings
        echo(json.dumps(report, indent=2))
    else:
        warn_lines(proposal.warnings)
        echo(render_text(proposal.plan, color=use_color(sys.stdout)).rstrip("\n"))
    return EXIT_CHANGES if proposal.plan.has_changes else EXIT_NO_CHANGES
