"""``gitsync validate`` as a user runs it: the installed console script, real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.testing.tools import ROOT, run_gitsync


def test_example_repo_is_valid() -> None:
    result = run_gitsync("validate", "example-repo", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("valid: 2 applications in 3 files")


def test_invalid_file_prints_located_errors_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "apps.yaml").write_text(
        "applications:\n  - name: a\n    route_prefix: api\n    import_path: m:app\n"
    )
    result = run_gitsync("validate", "apps.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "apps.yaml:3:19: error: applications[0].route_prefix: route_prefix must start with '/', must "
        "not end with '/' (unless it is exactly '/') and must not contain '{' or '}'; got 'api'",
        "invalid: 1 error, 0 warnings",
    ]


def test_directory_paths_are_shown_relative_to_the_current_directory(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "example-repo", tmp_path / "repo")
    target = next((tmp_path / "repo").rglob("fruit*.yaml"))
    target.write_text(target.read_text() + "bogus_key: 1\n")
    result = run_gitsync("validate", "repo", cwd=tmp_path)
    assert result.returncode == 0
    rel = target.relative_to(tmp_path).as_posix()
    assert any(
        line.startswith(f"{rel}:") and "unknown key 'bogus_key'" in line
        for line in result.stdout.splitlines()
    )


def test_stdin_and_json_output(tmp_path: Path) -> None:
    result = run_gitsync(
        "validate",
        "-",
        "--output",
        "json",
        cwd=tmp_path,
        stdin="applications:\n  - import_path: x\n",
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["issues"] == [
        {
            "file": "<stdin>",
            "line": 2,
            "column": 18,
            "path": "applications[0].import_path",
            "severity": "error",
            "message": report["issues"][0]["message"],
            "rule": "schema",
        }
    ]
    assert report["issues"][0]["message"].startswith("import_path must be 'module:attribute'")


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run_gitsync("validate", "--output", "xml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--output'" in result.stderr


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = run_gitsync("validate", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("gitsync: error: ")
