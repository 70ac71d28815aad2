"""Every shell recipe of README.md runs as written: in a temporary clone of the project,
beside the main job (``bash scripts/run.sh``), one terminal session from top to bottom.

What the harness does that a reader does once by hand, and nothing else:

* the clone's ``.venv`` is the suite's own environment seen through a thin venv (the
  project first on its path, then the suite's packages, whose ``serve`` and ``vespa``
  come from the ``clients`` extra), stamped so that ``scripts/run.sh`` does not install
  again: what its first start, plus ``pip install -e '.[clients]'``, leaves behind;
* the README's ports (19071 for the main job, 19072 for the standalone engine) become
  free ports, since other processes may hold them on a shared machine;
* ``bash scripts/run.sh`` is started once, in the background (the README runs it in a
  terminal of its own), and stopped at the end by its process group.

Blocks left out, each with its reason, are listed in ``NOT_HERE``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.testing.docs import shell_blocks
from tests.testing.tools import ROOT, tool_path
from tests.testing.wait import free_port, wait_until

pytestmark = pytest.mark.slow

NOT_HERE = {
    "bash scripts/run.sh": "the main job: the harness starts it once, in the background",
    "bash scripts/test.sh": "the suite itself",
    "ray start --head": "needs a Ray cluster; tests/ray deploys example-repo on 2 CPUs",
}


def runnable(block: str) -> bool:
    first = block.strip().splitlines()[0]
    return not any(first.startswith(prefix) for prefix in NOT_HERE)


def test_the_extractor_finds_the_recipes() -> None:
    blocks = shell_blocks((ROOT / "README.md").read_text())
    assert any("gitsync validate example-repo" in block for block in blocks)
    skipped = [block.splitlines()[0] for block in blocks if not runnable(block)]
    assert len(skipped) == 4, skipped  # run.sh twice, test.sh, the Ray cluster


def _clone(tmp_path: Path) -> Path:
    """The project's files (tracked and new, as ``git ls-files`` sees them) in a new repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    clone = tmp_path / "gitsync"
    for raw in filter(None, listed):
        source = ROOT / raw.decode()
        if source.is_file() and not source.is_symlink():
            target = clone / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "clone"]):
        subprocess.run(["git", *args], cwd=clone, check=True, capture_output=True, timeout=60)
    return clone


def _thin_venv(clone: Path) -> None:
    """``.venv`` as run.sh's first start (and the clients extra) would leave it."""
    venv = clone / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    purelib = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    shared = sysconfig.get_paths()["purelib"]
    (purelib / "gitsync-suite.pth").write_text(f"{clone}\n{shared}\n")
    python = venv / "bin" / "python"
    script = venv / "bin" / "gitsync"
    script.write_text(f"#!{python}\nimport sys\nfrom gitsync.main import main\nsys.exit(main())\n")
    script.chmod(0o755)
    for name in ("serve", "vespa"):
        (venv / "bin" / name).symlink_to(tool_path(name))
    digest = hashlib.sha256((clone / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".gitsync-installed").write_text(digest + "\n")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    path = _clone(tmp_path)
    _thin_venv(path)
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        "HOME": str(home),
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "Reader",
        "GIT_AUTHOR_EMAIL": "reader@example.com",
        "GIT_COMMITTER_NAME": "Reader",
        "GIT_COMMITTER_EMAIL": "reader@example.com",
        "VESPA_CLI_HOME": str(home / ".vespa"),
        "VESPA_CLI_CACHE_DIR": str(home / ".vespa-cache"),
    }


@pytest.fixture
def main_job(clone: Path, tmp_path: Path) -> Iterator[int]:
    """``bash scripts/run.sh`` on a free port; yields the port once the first sync is done."""
    port = free_port()
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh", "--listen", f"127.0.0.1:{port}"],
        cwd=clone,
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def applied() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"run.sh exited: {(tmp_path / 'run.log').read_text()}")
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/api/gitsync/status", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(status.get("lastSync") and status["lastSync"]["result"] == "applied")

    try:
        wait_until(applied, "the main job's first sync")
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def test_every_readme_recipe_runs_as_written(clone: Path, main_job: int, tmp_path: Path) -> None:
    engine_port = free_port()
    text = (clone / "README.md").read_text()
    text = text.replace("19071", str(main_job)).replace("19072", str(engine_port))
    blocks = [block for block in shell_blocks(text) if runnable(block)]
    session = ["set -euo pipefail"]
    for index, block in enumerate(blocks):
        session += [f"echo '### block {index}' >&2", block]
    script = tmp_path / "readme-session.sh"
    script.write_text("\n".join(session) + "\n")
    done = subprocess.run(
        ["bash", str(script)],
        cwd=clone,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
        start_new_session=True,
    )
    shown = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    (tmp_path / "session.out").write_text(shown)
    assert done.returncode == 0, shown
    out = done.stdout + done.stderr
    assert "valid: 2 applications in 3 files" in out, shown
    assert out.count("valid: 1 application in 1 file") == 3, shown
    assert "1 reconfigure" in out, shown  # the price change, in the history
    # The push beside the main job: its agent watches example-repo/, so the hook applies
    # the pushed commit itself and says that this commit was applied.
    assert "it is not asked" in out, shown
    assert re.search(r"remote: gitsync: [0-9a-f]{12} applied as generation \d+", out), shown
    assert "Success: Deployed" in out, shown  # vespa deploy
    assert "Sent deploy request successfully." in out, shown  # serve deploy
    rollback = json.loads(
        done.stdout[done.stdout.rindex('{\n  "generation"') :].split("\n}\n")[0] + "\n}"
    )
    assert rollback["rolledBackTo"] == 2, shown
