"""The project's own documents say what the code does: the licence, the environment
variables, the state directories the README creates, run.sh, shell completion."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from tests.testing.docs import shell_blocks
from tests.testing.tools import ROOT, run_gitsync


def test_the_licence_file_is_the_one_pyproject_names() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    used: set[str] = set()
    for path in (ROOT / "gitsync").rglob("*.py"):
        used |= set(re.findall(r'"(GITSYNC_[A-Z_]+)"', path.read_text()))
    used -= {"GITSYNC_ASKPASS_USERNAME", "GITSYNC_ASKPASS_PASSWORD"}  # internal to git's helper
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert used, "no variables found: the pattern is wrong"
    assert sorted(name for name in used if f"`{name}`" not in documented) == []


def test_gitignore_covers_every_state_directory_the_readme_creates() -> None:
    readme = "\n".join(shell_blocks((ROOT / "README.md").read_text()))
    created = set(re.findall(r"--state-dir (\.[\w-]+)", readme)) | {".gitsync"}
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *(f"{name}/x" for name in sorted(created))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.split()
    assert sorted(created) == [".gitsync", ".gitsync-engine"]
    assert sorted(path.removesuffix("/x") for path in ignored) == sorted(created)


def test_run_sh_installs_only_when_pyproject_changed() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text()
    assert "--quiet" not in script  # pip shows its progress on a first install
    assert "sha256sum pyproject.toml" in script
    assert script.index("if [ ! -x .venv/bin/gitsync ]") < script.index("pip install -e .")


def test_shell_completion_works_as_documented(tmp_path: Path) -> None:
    assert "_GITSYNC_COMPLETE=bash_source gitsync" in (ROOT / "docs/operations.md").read_text()
    script = run_gitsync(cwd=tmp_path, env={"_GITSYNC_COMPLETE": "bash_source"})
    assert "_gitsync_completion()" in script.stdout
    words = run_gitsync(
        cwd=tmp_path,
        env={"_GITSYNC_COMPLETE": "bash_complete", "COMP_WORDS": "gitsync sy", "COMP_CWORD": "1"},
    )
    assert words.stdout.split() == ["plain,sync"]


def test_openapi_covers_gitsyncs_own_routes() -> None:
    import yaml

    from gitsync.agent.client import REFRESH_PATH, STATUS_PATH, VALIDATE_PATH
    from gitsync.agent.webhook import PATH as WEBHOOK_PATH
    from gitsync.api.native import routes as native_routes

    paths = yaml.safe_load((ROOT / "schemas" / "openapi.yaml").read_text())["paths"]
    native = [route.path for route in native_routes]
    assert native, "no native routes found"
    expected = {*native, STATUS_PATH, REFRESH_PATH, VALIDATE_PATH, WEBHOOK_PATH}
    assert sorted(expected - set(paths)) == []
