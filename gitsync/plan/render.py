"""Renderings of a plan: text in the spirit of ``terraform plan``, and JSON
(``schemas/plan.schema.json``). Both show the plan's values, which ``diff`` has
already masked; colour is added only when the caller asks (the CLI asks on a tty).
"""

from __future__ import annotations

import json
from typing import Any

from gitsync.output import paint
from gitsync.plan.diff import UNSET, AppChange, FieldChange, Plan

FORMAT_VERSION = 1
_EFFECT = {
    "scale": "scale, in place",
    "reconfigure": "reconfigure, in place",
    "restart": "restart, replicas replaced",
}


def format_value(value: Any) -> str:
    """A value as JSON on one line; an absent key as ``(unset)``."""
    if value is UNSET:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def format_change(change: FieldChange) -> str:
    """``deployments.Mango.user_config.price 1 → 2 (reconfigure, in place)``."""
    text = f"{change.path} {format_value(change.before)} → {format_value(change.after)}"
    if change.all_deployments:
        return f"{text} (restart, all deployments replaced)"
    if change.change_class is not None:
        return f"{text} ({_EFFECT[change.change_class]})"
    return f"{text} ({change.note})" if change.note else text


def _changes_block(head: str, changes: tuple[FieldChange, ...], color: bool) -> list[str]:
    """One line for a single change, else a header and one indented line per change."""
    if len(changes) == 1:
        return [f"{paint(head, 'yellow', color)}: {format_change(changes[0])}"]
    return [f"{paint(head, 'yellow', color)}:"] + [f"    {format_change(c)}" for c in changes]


def _update_head(app: AppChange) -> str:
    head = f'~ update "{app.name}"'
    if len(app.changes) > 1:
        head += f" ({len(app.changes)} changes, {app.change_class})"
    return head


def summary_line(plan: Plan) -> str:
    """``Plan: 1 to create, 2 to update (1 restart), 1 to delete.``, or ``No changes.``"""
    if not plan.has_changes:
        return "No changes."
    counts = plan.counts
    update = f"{counts.update} to update"
    if counts.restart:
        update += f" ({counts.restart} restart)"
    text = f"Plan: {counts.create} to create, {update}, {counts.delete} to delete"
    if counts.instance:
        noun = "option" if counts.instance == 1 else "options"
        text += f", {counts.instance} instance {noun} to change"
    return text + "."


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan as text lines ending with the summary (and a newline)."""
    lines: list[str] = []
    if plan.instance:
        lines += _changes_block("~ update instance options", plan.instance, color)
    for app in plan.create:
        lines.append(paint(f'+ create application "{app.name}"', "green", color))
    for app in plan.update:
        lines += _changes_block(_update_head(app), app.changes, color)
    for app in plan.delete:
        lines.append(paint(f'- delete "{app.name}"', "red", color))
    if lines:
        lines.append("")
    lines.append(
        paint(summary_line(plan), "bold", color) if plan.has_changes else summary_line(plan)
    )
    return "\n".join(lines) + "\n"


def _change_json(change: FieldChange) -> dict[str, Any]:
    out: dict[str, Any] = {"path": change.path, "parts": list(change.parts), "kind": change.kind}
    if change.before is not UNSET:
        out["before"] = change.before
    if change.after is not UNSET:
        out["after"] = change.after
    out["change_class"] = change.change_class
    out["all_deployments"] = change.all_deployments
    out["note"] = change.note
    out["sensitive"] = change.sensitive
    return out


def _app_json(app: AppChange) -> dict[str, Any]:
    return {
        "name": app.name,
        "action": app.action,
        "change_class": app.change_class,
        "restarts_all_deployments": app.restarts_all,
        "import_path": app.import_path,
        "route_prefix": app.route_prefix,
        "changes": [_change_json(c) for c in app.changes],
        "deployments": [
            {"name": d.name, "status": d.status, "change_class": d.change_class}
            for d in app.deployments
        ],
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-compatible dict (``schemas/plan.schema.json``)."""
    counts = plan.counts
    return {
        "format_version": FORMAT_VERSION,
        "changed": plan.has_changes,
        "summary": {
            "create": counts.create,
            "update": counts.update,
            "delete": counts.delete,
            "unchanged": counts.unchanged,
            "restart": counts.restart,
            "instance": counts.instance,
            "text": summary_line(plan),
        },
        "instance": [_change_json(c) for c in plan.instance],
        "applications": [_app_json(a) for a in (*plan.create, *plan.update, *plan.delete)],
        "unchanged": list(plan.unchanged),
    }
