"""What a push hook process loads: each hook is a fresh process, so every import is part
of a push's latency. Without an agent, post-receive opens the embedded engine, and loads
neither PostgreSQL's dialect and driver, nor Alembic (no upgrade to run), nor an HTTP
client, and once its statements are compiled in the state directory, no SQLAlchemy at
all; with an agent, neither hook loads the engine or its SQL toolkit; syncing to a
remote engine (``--engine URL``) loads no SQL toolkit either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.engine import running_engine
from tests.testing.git import WorkRepo, git

SCRIPT = """
import io, json, sys
from gitsync.hooks.__main__ import main
sys.stdin = io.StringIO(sys.argv[2])
code = main(sys.argv[3:])
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(n for n, m in sys.modules.items() if m)}, out)
"""


def run_hook(
    bare: Path, tmp_path: Path, update: str, *argv: str, env: dict[str, str] | None = None
) -> tuple[int, set[str], str]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(report), update, *argv],
        cwd=bare,
        capture_output=True,
        text=True,
        timeout=120,
        env=None if env is None else {**os.environ, **env},
    )
    data = json.loads(report.read_text())
    return int(data["code"]), set(data["modules"]), done.stdout + done.stderr


def loaded(modules: set[str], *names: str) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def pushed(tmp_path: Path, repo: WorkRepo, price: int = 1) -> tuple[Path, str]:
    """A bare repository holding a pushed commit (no hooks yet), and git's update line."""
    bare = tmp_path / "deploy.git"
    if not bare.exists():
        git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    sha = repo.commit(f"price {price}", {"apps/a.yaml": app_yaml("a", price=price)})
    assert repo.push(bare.as_uri()).returncode == 0
    return bare, f"{'0' * 40} {sha} refs/heads/main\n"


def test_the_hooks_without_an_agent_load_only_what_the_embedded_engine_needs(
    tmp_path: Path, repo: WorkRepo
) -> None:
    bare, update = pushed(tmp_path, repo)
    state = str(tmp_path / "state")
    for hook in ("pre-receive", "post-receive"):
        code, modules, out = run_hook(bare, tmp_path, update, hook, "--state-dir", state)
        assert code == 0, out
        assert loaded(modules, "sqlalchemy.dialects.postgresql", "psycopg", "alembic") == []
        assert loaded(modules, "httpx", "httpcore", "starlette", "uvicorn", "click") == []
        # Agents' unit leases are the agent's and the API's: a hook takes none. It reads
        # its own repository: no remote URL's credentials.
        assert loaded(modules, "gitsync.engine.unit_leases", "gitsync.sources.gitcreds") == []
    assert "applied as generation" in out
    # The next push finds the statements compiled in the state directory: no SQLAlchemy.
    bare, update = pushed(tmp_path, repo, price=2)
    for hook in ("pre-receive", "post-receive"):
        code, modules, out = run_hook(bare, tmp_path, update, hook, "--state-dir", state)
        assert code == 0, out
        assert loaded(modules, "sqlalchemy", "alembic", "psycopg") == [], hook
        assert loaded(modules, "yaml") == [], hook  # plain configs: PyYAML is not needed
        # Archives are the agent's and the API's; logging only a managed runtime's.
        assert loaded(modules, "tarfile", "zipfile", "gzip", "logging", "uuid") == [], hook
        if hook == "pre-receive":  # its records are NamedTuples: no dataclasses, no inspect
            assert loaded(modules, "dataclasses", "inspect") == [], hook
    assert "applied as generation" in out


def test_each_hook_reads_the_pushed_commit_with_two_git_processes(
    tmp_path: Path, repo: WorkRepo
) -> None:
    """The tree is listed from the pushed sha itself, and its commit is read by the one
    ``cat-file --batch`` that reads the files: no rev-parse, no separate commit read."""
    bare, update = pushed(tmp_path, repo)
    state = str(tmp_path / "state")
    for hook in ("pre-receive", "post-receive"):
        trace = tmp_path / f"{hook}.trace"
        env = {"GIT_TRACE": str(trace)}  # git logs each command it starts there
        code, _, out = run_hook(bare, tmp_path, update, hook, "--state-dir", state, env=env)
        assert code == 0, out
        commands = [
            line.split("built-in: git ", 1)[1].split()[0]
            for line in trace.read_text().splitlines()
            if "built-in: git " in line
        ]
        assert commands == ["ls-tree", "cat-file"], hook
    assert "applied as generation" in out


def test_the_hooks_asking_an_agent_load_no_engine(
    tmp_path: Path, repo: WorkRepo, start_agent: Callable[..., AgentProcess]
) -> None:
    bare, _ = pushed(tmp_path, repo)
    agent = start_agent(str(bare), "--ref", "main", "--interval", "3600")
    agent.wait_status(lambda s: s["lastSync"] and s["lastSync"]["result"] == "applied", "sync")
    bare, update = pushed(tmp_path, repo, price=2)
    for hook in ("pre-receive", "post-receive"):
        code, modules, out = run_hook(bare, tmp_path, update, hook, "--agent", agent.url)
        assert code == 0, out
        assert loaded(modules, "sqlalchemy", "gitsync.engine", "yaml", "yaml_rs") == [], hook
        assert loaded(modules, "httpx", "httpcore") == [], hook  # a loopback agent: no TLS
    assert "applied as generation" in out
    assert agent.stop() == 0


def test_the_hooks_syncing_to_a_remote_engine_load_no_sql_toolkit(
    tmp_path: Path, repo: WorkRepo
) -> None:
    bare, update = pushed(tmp_path, repo)
    with running_engine(tmp_path / "engine-state", tmp_path / "engine.log") as engine:
        for hook in ("pre-receive", "post-receive"):
            code, modules, out = run_hook(bare, tmp_path, update, hook, "--engine", engine.url)
            assert code == 0, out
            assert loaded(modules, "sqlalchemy", "alembic", "sqlite3", "psycopg") == [], hook
            assert loaded(modules, "gitsync.engine.engine", "gitsync.engine.store") == [], hook
    assert "applied as generation" in out
