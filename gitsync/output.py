"""Terminal output: colour only on a terminal (and never with NO_COLOR), and no
control sequence from the outside world: a commit message, an author name or a file
name cannot move the cursor, retitle the window, hide text or reorder it."""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

_CODES = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, color: str, enabled: bool) -> str:
    return f"\033[{_CODES[color]}m{text}\033[0m" if enabled else text


# Our own colours (SGR: ESC [ digits m) pass; every other control character, the
# C1 controls and the bidi overrides are shown escaped instead.
_SGR = re.compile(r"\x1b\[[0-9;]{0,16}m")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def safe_text(text: str) -> str:
    """``text`` with control characters escaped (newlines and tabs kept)."""
    return _CONTROL.sub(_escaped, text)


def terminal_text(text: str) -> str:
    """As :func:`safe_text`, keeping gitsync's own colour codes."""
    if "\x1b" not in text:
        return safe_text(text)
    parts = []
    done = 0
    for match in _SGR.finditer(text):
        parts.append(safe_text(text[done : match.start()]))
        parts.append(match.group())
        done = match.end()
    parts.append(safe_text(text[done:]))
    return "".join(parts)


def echo(text: str = "", stream: TextIO | None = None) -> None:
    print(terminal_text(text), file=stream or sys.stdout)


def warn_lines(lines: list[str]) -> None:
    """Warnings go to stderr (as kubectl's do), so stdout stays the plan or the JSON."""
    color = use_color(sys.stderr)
    for line in lines:
        echo(paint(line, "yellow", color), sys.stderr)
