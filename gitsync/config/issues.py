"""Validation issues: one problem, located in a file and in the config tree."""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]
PathPart = str | int
JsonPath = tuple[PathPart, ...]


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(path: JsonPath) -> str:
    """Render ``("applications", 1, "deployments", 0, "num_replicas")`` as
    ``applications[1].deployments[0].num_replicas``; a key that is not a plain name is
    quoted (``args["a.b"]``); the root is ``$``. Issues and plans both write paths so."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, str) and _IDENTIFIER.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            # A key the readers refuse (null, a number) can still reach a message: never raise.
            out.append(f"[{_quote(str(part))}]")
    return "".join(out) or "$"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Issue(NamedTuple):
    """One finding. ``path`` is the JSON path inside ``file``; line/column are 1-based
    (0 when the finding has no position, e.g. a missing file). ``rule`` names the check
    that found it (``schema`` for JSON Schema, else a cross-field rule such as
    ``route-prefix-format``)."""

    file: str
    line: int
    column: int
    path: JsonPath
    severity: Severity
    message: str
    rule: str = "schema"

    @property
    def json_path(self) -> str:
        return format_path(self.path)

    def render(self) -> str:
        if not self.file and not self.line:  # about the config as a whole: no place to name
            where = f"{self.json_path}: " if self.path else ""
            return f"{self.severity}: {where}{self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.json_path}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.json_path,
            "severity": self.severity,
            "message": self.message,
            "rule": self.rule,
        }


class Finding(NamedTuple):
    """A problem at a JSON path of the merged config, before it is located in a file."""

    path: JsonPath
    message: str
    severity: str = "error"
    rule: str = "schema"
    at_key: bool = False  # locate at the key rather than the value (unknown keys)
    # Another place the message refers to, written "{related}" in it; the loader
    # replaces it with that place's file:line:col.
    related: JsonPath | None = None

    def text(self, related: str | None = None) -> str:
        if self.related is None:
            return self.message
        return self.message.replace("{related}", related or format_path(self.related))

    def to_issue(self, file: str = "<config>", line: int = 0, column: int = 0) -> Issue:
        severity: Severity = "warning" if self.severity == "warning" else "error"
        return Issue(file, line, column, self.path, severity, self.text(), self.rule)
