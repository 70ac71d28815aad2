"""``gitsync sync``: validate everything, then create session → upload → prepare → activate."""

from __future__ import annotations

import json
import sys

from gitsync.config.schema import UnknownKeys
from gitsync.output import echo, use_color, warn_lines
from gitsync.plan.render import plan_to_json, render_text
from gitsync.sources.spec import SourceSpec, read_source
from gitsync.sync import reconcile
from gitsync.sync.spec import TargetSpec


def sync(
    source: SourceSpec,
    target: TargetSpec,
    *,
    tenant: str = "default",
    application: str = "default",
    output: str = "text",
    policy: reconcile.PrunePolicy = reconcile.DEFAULT_POLICY,
    force: bool = False,
    unknown_keys: UnknownKeys | None = None,
) -> int:
    """Validate ``source``, print the plan, and apply it unless already in sync."""
    snapshot = read_source(source)
    engine = target.open()
    try:
        live = engine.live(tenant, application)
        proposal = reconcile.propose(snapshot, live, policy=policy, unknown_keys=unknown_keys)
        if output == "text":
            warn_lines(proposal.warnings)
            echo(render_text(proposal.plan, color=use_color(sys.stdout)).rstrip("\n"))
        if proposal.in_sync:
            if output == "json":
                echo(json.dumps(_report(proposal, None), indent=2))
            else:
                echo(f"Already in sync at generation {proposal.live.generation}.")
            return 0
        result = reconcile.apply(
            proposal, engine, tenant=tenant, application=application, force=force
        )
    finally:
        engine.close()
    if output == "json":
        echo(json.dumps(_report(proposal, result.generation), indent=2))
    else:
        echo(f"Applied {snapshot.revision[:12]} as generation {result.generation}.")
    return 0


def _report(proposal: reconcile.Proposal, generation: int | None) -> dict[str, object]:
    report = plan_to_json(proposal.plan)
    report["revision"] = proposal.snapshot.revision
    report["generation"] = generation if generation is not None else proposal.live.generation
    report["applied"] = generation is not None
    report["warnings"] = proposal.warnings
    if proposal.kept:
        report["kept"] = proposal.kept
    return report
