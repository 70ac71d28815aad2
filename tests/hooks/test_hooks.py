"""Push to deploy with a real ``git push`` over file:// into a bare repository whose
hooks ``gitsync hook install`` wrote: one push refused, one deployed."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gitsync.sync.target import EmbeddedTarget
from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.git import WorkRepo, git
from tests.testing.tools import run_gitsync

Start = Callable[..., AgentProcess]
BAD_ISSUE = (
    "apps/a.yaml:2:15: error: route_prefix: route_prefix must start with '/', must not end "
    "with '/' (unless it is exactly '/') and must not contain '{' or '}'; got 'nope'"
)


def install_hooks(bare: Path, *args: str) -> None:
    done = run_gitsync("hook", "install", str(bare), *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        f"installed {bare / 'hooks' / 'pre-receive'}",
        f"installed {bare / 'hooks' / 'post-receive'}",
    ]
    for name in ("pre-receive", "post-receive"):
        mode = (bare / "hooks" / name).stat().st_mode
        assert mode & stat.S_IXUSR


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "deploy.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


def remote_lines(stderr: str) -> list[str]:
    return [
        line.removeprefix("remote: ").rstrip()
        for line in stderr.splitlines()
        if line.startswith("remote: ")
    ]


def branch_sha(bare: Path) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "refs/heads/main"],
        cwd=bare,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def push_refused_then_deployed(repo: WorkRepo, bare: Path) -> tuple[str, list[str]]:
    before = branch_sha(bare)
    repo.commit("bad", {"apps/a.yaml": "name: a\nroute_prefix: nope\nimport_path: shop:app\n"})
    refused = repo.push(bare.as_uri())
    assert refused.returncode != 0
    bad_sha = git(repo.path, "rev-parse", "HEAD")
    assert remote_lines(refused.stderr)[:2] == [
        f"gitsync: push refused: main at {bad_sha[:12]} is invalid:",
        f"  {BAD_ISSUE}",
    ]
    assert "pre-receive hook declined" in refused.stderr
    assert branch_sha(bare) == before  # nothing landed

    good = repo.commit("good", {"apps/a.yaml": app_yaml("a", price=5)})
    pushed = repo.push(bare.as_uri())
    assert pushed.returncode == 0, pushed.stderr
    assert branch_sha(bare) == good
    return good, remote_lines(pushed.stderr)


def test_push_to_deploy_without_an_agent(tmp_path: Path, repo: WorkRepo, bare: Path) -> None:
    state = tmp_path / "state"
    install_hooks(bare, "--state-dir", str(state))
    good, lines = push_refused_then_deployed(repo, bare)
    assert lines[0] == f"gitsync: {good[:12]} is valid"
    assert '+ create application "a"' in lines
    assert "Plan: 1 to create, 0 to update, 0 to delete." in lines
    with EmbeddedTarget(state) as target:
        live = target.live("default", "default")
        assert lines[-1] == f"gitsync: {good[:12]} applied as generation {live.generation}"
        assert live.revision == good
        assert target.history("default", "default")[0].meta["message"] == "good"


def test_push_to_deploy_through_the_running_agent(
    tmp_path: Path, repo: WorkRepo, bare: Path, start_agent: Start
) -> None:
    state = tmp_path / "state"
    repo.commit("first", {"apps/a.yaml": app_yaml("a", price=1)})
    assert repo.push(bare.as_uri()).returncode == 0  # before the hooks: lands unchecked
    agent = start_agent(str(bare), "--ref", "main", "--interval", "3600", state_dir=state)
    agent.wait_status(
        lambda s: s["lastSync"] and s["lastSync"]["result"] == "applied", "first sync"
    )
    install_hooks(bare, "--state-dir", str(state))  # finds the agent through its lock file

    good, lines = push_refused_then_deployed(repo, bare)
    assert lines[0] == (
        f"gitsync: {good[:12]} is valid (Plan: 0 to create, 1 to update, 0 to delete.)"
    )
    assert lines[1] == f"gitsync: {good[:12]} pushed; asking the agent at {agent.url} to sync"
    assert any("user_config.price 1 → 5" in line for line in lines)
    status = agent.status()
    assert status["revisions"]["applied"] == good
    assert status["lastSync"]["reasons"] == ["hook"]
    assert lines[-1] == f"gitsync: {good[:12]} applied as generation {status['generation']}"
    assert agent.stop() == 0


def test_an_agent_watching_another_source_is_not_asked(
    tmp_path: Path, repo: WorkRepo, bare: Path, start_agent: Start
) -> None:
    """The agent holding the state directory watches a directory, not this repository:
    its sync would not be this push's, so the hook applies the push itself (through that
    agent's API) and says so; what it prints is about the pushed commit only."""
    state = tmp_path / "state"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.yaml").write_text(app_yaml("b", price=1))
    agent = start_agent(str(elsewhere), "--interval", "3600", state_dir=state)
    agent.wait_status(
        lambda s: s["lastSync"] and s["lastSync"]["result"] == "applied", "first sync"
    )
    install_hooks(bare, "--state-dir", str(state))
    good = repo.commit(
        "good", {"apps/a.yaml": app_yaml("a", price=5), "apps/b.yaml": app_yaml("b")}
    )
    pushed = repo.push(bare.as_uri())
    assert pushed.returncode == 0, pushed.stderr
    lines = remote_lines(pushed.stderr)
    assert (
        f"gitsync: the agent at {agent.url} watches {elsewhere}, not this repository's main: it is not asked"
        in lines
    )
    assert '+ create application "a"' in lines
    history = httpx.get(
        f"{agent.url}/api/gitsync/v1/tenant/default/application/default/history"
    ).json()
    assert history[0]["revision"] == good
    assert lines[-1] == f"gitsync: {good[:12]} applied as generation {history[0]['generation']}"
    assert agent.stop() == 0


def test_install_refuses_to_replace_a_foreign_hook(bare: Path) -> None:
    (bare / "hooks" / "pre-receive").write_text("#!/bin/sh\nexit 0\n")
    done = run_gitsync("hook", "install", str(bare))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"gitsync: error: {bare / 'hooks' / 'pre-receive'} exists and was not written by "
        "gitsync: pass --force to replace it"
    )
