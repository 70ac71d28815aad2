"""A plan as the page shows it: exactly the text ``gitsync diff`` prints, its colours
turned into classes. The values were masked when the plan was made (``plan.diff``), so
the page shows secrets exactly as plans do."""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

from gitsync.plan.diff import Plan
from gitsync.plan.render import render_text

# The SGR codes render.py paints with, and the class each becomes.
_CLASSES = {"32": "plan-create", "33": "plan-update", "31": "plan-delete", "1": "plan-summary"}
_SGR = re.compile(r"\x1b\[(\d+)m")


def ansi_to_html(text: str) -> Markup:
    """Escape ``text`` and turn render.py's colour codes into ``<span class=…>``."""
    out: list[str] = []
    open_span = False
    position = 0
    for match in _SGR.finditer(text):
        out.append(escape(text[position : match.start()]))
        position = match.end()
        code = match.group(1)
        if open_span:
            out.append("</span>")
            open_span = False
        if code in _CLASSES:
            out.append(f'<span class="{_CLASSES[code]}">')
            open_span = True
    out.append(escape(text[position:]))
    if open_span:
        out.append("</span>")
    return Markup("".join(out))


def plan_html(plan: Plan) -> Markup:
    return ansi_to_html(render_text(plan, color=True))
