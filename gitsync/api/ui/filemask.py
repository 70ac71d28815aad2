"""A package file as the files page shows it, with secrets masked.

Plans mask every ``env_vars`` value, secret-looking keys and credentials in URLs; a
config file shown whole must hide the same things. This works on lines (YAML, or the
JSON the Serve REST API stores), so it errs on the side of masking: every value under
an ``env_vars`` key, every value whose key looks secret anywhere in the file, and every
``user:password@`` in a URL.
"""

from __future__ import annotations

import re

from gitsync.plan.diff import MASK

_SECRET_KEY = re.compile(r"token|password|secret|key|credential", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s?#\"']*@")
# An indented ``key: value`` line, YAML (optionally in a list item) or JSON (quoted key).
_ENTRY = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<q>[\"']?)(?P<key>[^\"':#{}\[\]]+)(?P=q)\s*:(?P<rest>.*)$"
)
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def masked_text(path: str, data: bytes, limit: int) -> str:
    """The file's text with secrets masked; binary and oversized files are described."""
    if len(data) > limit:
        return f"({len(data)} bytes: too large to show here)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"(binary file, {len(data)} bytes)"
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    if not path.endswith(_CONFIG_SUFFIXES):
        return text
    return "\n".join(_mask_lines(text.split("\n")))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" -"))


def _mask_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    env_indent: int | None = None  # inside an env_vars block opened at this indent
    for line in lines:
        stripped = line.strip()
        if env_indent is not None and stripped and _indent(line) <= env_indent:
            env_indent = None  # back at the key's level (or its closing brace)
        match = _ENTRY.match(line)
        if match is None:
            out.append(line)
            continue
        key, rest = match.group("key").strip(), match.group("rest")
        value = rest.strip()
        if env_indent is not None:
            out.append(_masked(match, value))
            continue
        if key == "env_vars":
            if value in ("", "{"):
                env_indent = _indent(line)
                out.append(line)
            else:
                out.append(_masked(match, value))
            continue
        secret_inline = value[:1] in ("{", "[") and len(value) > 1 and _SECRET_KEY.search(value)
        if (_SECRET_KEY.search(key) and value not in ("", "{", "[")) or secret_inline:
            out.append(_masked(match, value))
            continue
        out.append(line)
    return out


def _masked(match: re.Match[str], value: str) -> str:
    if value in ("", "{", "["):
        return match.group(0)
    comma = "," if value.endswith(",") else ""
    quote = match.group("q")
    return f'{match.group("lead")}{quote}{match.group("key")}{quote}: "{MASK}"{comma}'
