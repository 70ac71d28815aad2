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
    assert result.returncode == 1  # an unknown key is an error by default
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


def test_files_resolve_working_dir_from_the_current_directory_by_default() -> None:
    """As the README says: the --root default is the current directory."""
    result = run_gitsync("validate", "serve/apps/fruit.yaml", cwd=ROOT / "example-repo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "valid: 1 application in 1 file"
    same = run_gitsync(
        "validate", "serve/apps/fruit.yaml", "--root", ".", cwd=ROOT / "example-repo"
    )
    assert same.stdout == result.stdout


def test_empty_stdin_is_an_error(tmp_path: Path) -> None:
    result = run_gitsync("validate", "-", cwd=tmp_path, stdin="")
    assert result.returncode == 2
    assert result.stderr == (
        "gitsync: error: nothing on stdin: pipe a config into 'gitsync validate -'\n"
    )


def test_instance_options_alone_are_not_a_config(tmp_path: Path) -> None:
    result = run_gitsync("validate", "-", cwd=tmp_path, stdin="proxy_location: HeadOnly\n")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        "error: no applications: none of the files read (<stdin>) declares 'applications'"
    )


def test_unknown_keys_error_by_default_and_warn_on_request(tmp_path: Path) -> None:
    config = "applications:\n  - name: a\n    route_prefx: /a\n    import_path: m:app\n"
    strict = run_gitsync("validate", "-", cwd=tmp_path, stdin=config)
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[0] == (
        "<stdin>:3:5: error: applications[0].route_prefx: unknown key 'route_prefx'; did you "
        "mean 'route_prefix'?"
    )
    relaxed = run_gitsync("validate", "-", "--unknown-keys", "warn", cwd=tmp_path, stdin=config)
    assert relaxed.returncode == 0
    assert relaxed.stdout.splitlines() == [
        "<stdin>:3:5: warning: applications[0].route_prefx: unknown key 'route_prefx': Ray "
        "ignores it, so it has no effect; did you mean 'route_prefix'?",
        "valid: 1 application in 1 file, 1 warning",
    ]
