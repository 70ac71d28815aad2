"""A plan as the page shows it: exactly the text ``gitsync diff`` prints (values were
masked when the plan was made, so secrets are masked as in plans), with the parts the
terminal colours marked by class: created green, updated yellow, deleted red, the
summary bold. Each line keeps its ``+``/``~``/``-`` marker, so colour is never the only
sign."""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

from gitsync.plan.diff import Plan
from gitsync.plan.render import render_text

# render.py paints the head of an update block (``~ update "name" (…)``) up to the colon.
_UPDATE_HEAD = re.compile(
    r'^(~ update (?:instance options|"(?:[^"\\]|\\.)*"(?: \([^)]*\))?))(:.*)$'
)


def _line(line: str) -> str:
    if line.startswith("+ create "):
        return f'<span class="plan-create">{escape(line)}</span>'
    if line.startswith("- delete "):
        return f'<span class="plan-delete">{escape(line)}</span>'
    if line.startswith("Plan: "):
        return f'<span class="plan-summary">{escape(line)}</span>'
    match = _UPDATE_HEAD.match(line)
    if match:
        return f'<span class="plan-update">{escape(match.group(1))}</span>{escape(match.group(2))}'
    return escape(line)


def text_to_html(text: str) -> Markup:
    """Plan text (``render_text(plan)``) as HTML for a ``<pre>``."""
    return Markup("\n".join(_line(line) for line in text.split("\n")))


def plan_html(plan: Plan) -> Markup:
    return text_to_html(render_text(plan))
