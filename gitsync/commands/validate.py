"""``gitsync validate``: check config files and say exactly what is wrong, and where."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gitsync.config.issues import Issue
from gitsync.config.loader import LoadResult
from gitsync.config.schema import UnknownKeys
from gitsync.errors import BadRequest
from gitsync.output import echo, paint, use_color
from gitsync.sources.paths import load_paths, load_stdin, read_stdin

EXIT_VALID = 0
EXIT_INVALID = 1


def validate(
    paths: Sequence[str],
    *,
    output: str = "text",
    root: str | None = None,
    unknown_keys: UnknownKeys | None = None,
) -> int:
    """Validate files, directories or ``-`` (stdin). Exit 0 valid, 1 invalid."""
    if list(paths) == ["-"]:
        data = read_stdin(sys.stdin.buffer)
        if not data.strip():
            raise BadRequest("nothing on stdin: pipe a config into 'gitsync validate -'")
        result = load_stdin(data, root=Path(root) if root else None, unknown_keys=unknown_keys)
    else:
        targets = [Path(p) for p in paths] or [Path(".")]
        result = load_paths(targets, root=Path(root) if root else None, unknown_keys=unknown_keys)
    if output == "json":
        echo(json.dumps(_as_json(result), indent=2))
    else:
        _print_text(result)
    return EXIT_VALID if result.ok else EXIT_INVALID


def _as_json(result: LoadResult) -> dict[str, object]:
    return {
        "valid": result.ok,
        "files": result.files,
        "applications": len((result.config or {}).get("applications", [])),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "issues": [issue.to_json() for issue in result.issues],
    }


def _print_text(result: LoadResult) -> None:
    color = use_color(sys.stdout)
    for issue in result.issues:
        echo(_render(issue, color))
    apps = len((result.config or {}).get("applications", []))
    files = len(result.files)
    if result.ok:
        summary = (
            f"valid: {apps} application{'s' * (apps != 1)} in {files} file{'s' * (files != 1)}"
        )
        if result.warnings:
            summary += f", {len(result.warnings)} warning{'s' * (len(result.warnings) != 1)}"
        echo(paint(summary, "green", color))
    else:
        errors = len(result.errors)
        echo(
            paint(
                f"invalid: {errors} error{'s' * (errors != 1)}, {len(result.warnings)} warnings",
                "red",
                color,
            )
        )


def _render(issue: Issue, color: bool) -> str:
    if not issue.file and not issue.line:
        return paint(issue.render(), "red" if issue.severity == "error" else "yellow", color)
    severity = paint(issue.severity, "red" if issue.severity == "error" else "yellow", color)
    where = paint(f"{issue.file}:{issue.line}:{issue.column}", "bold", color)
    return f"{where}: {severity}: {issue.json_path}: {issue.message}"
