"""Fenced code blocks of a Markdown document (the README's recipes)."""

from __future__ import annotations

import re

FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
SHELLS = ("sh", "bash", "shell")


def shell_blocks(markdown: str) -> list[str]:
    """The shell blocks, in order (output blocks have no language)."""
    return [m["body"] for m in FENCE.finditer(markdown) if m["lang"] in SHELLS]
