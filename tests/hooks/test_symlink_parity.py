"""A repository holding symlinks pushes the same way with and without a running agent.

The same commits go by a real ``git push`` into two bare repositories whose hooks
``gitsync hook install --state-dir`` wrote: one whose state directory a running agent
holds (the hooks send it ``git archive``), one without (the hooks read the tree
themselves). Symlinks are never followed: one inside the repository and one pointing
outside it, named like config files, are refused alike at their names (their
applications never silently leave the config); a ``working_dir`` through a symlink is
refused alike, with the same message."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from tests.hooks.test_hooks import branch_sha, install_hooks, remote_lines
from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.git import WorkRepo, git

Start = Callable[..., AgentProcess]
CODE_APP = "name: c\nroute_prefix: /c\nimport_path: shop:app\nruntime_env:\n  working_dir: ./code\n"


def _bare(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


def _verdict(lines: list[str]) -> list[str]:
    """What pre-receive said about the tree: the refusal and its issues, or the
    acceptance and its warnings (the agent adds its plan summary and its own lines
    about asking it; those are about the route taken, not the verdict)."""
    out = []
    for line in lines:
        if "asking the agent" in line or line.startswith(("+", "-", "~", "Plan:")):
            continue
        line = re.sub(r" \(Plan: [^)]*\)$", "", line)
        if "applied as generation" in line or "already live" in line:
            line = re.sub(r"generation \d+", "generation N", line)
        out.append(line)
    return out


def _link(repo: WorkRepo, rel: str, target: str) -> None:
    path = repo.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    os.symlink(target, path)


def test_symlinks_push_the_same_with_and_without_an_agent(
    tmp_path: Path, repo: WorkRepo, start_agent: Start
) -> None:
    outside = tmp_path / "outside"
    (outside / "code").mkdir(parents=True)
    (outside / "code" / "main.py").write_text("app = 1\n")
    (outside / "secret.yaml").write_text("applications:\n- name: stolen\n  import_path: x:y\n")

    first = repo.commit("first", {"apps/a.yaml": app_yaml("a")})
    local, agented = _bare(tmp_path, "local.git"), _bare(tmp_path, "agent.git")
    for bare in (local, agented):
        assert repo.push(bare.as_uri()).returncode == 0  # before the hooks
    install_hooks(local, "--state-dir", str(tmp_path / "local-state"))
    agent = start_agent(
        str(agented), "--ref", "main", "--interval", "3600", state_dir=tmp_path / "agent-state"
    )
    agent.wait_status(lambda s: s["lastSync"] and s["lastSync"]["result"] == "applied", "sync")
    install_hooks(agented, "--state-dir", str(tmp_path / "agent-state"))

    # 1. a symlink inside the repository and one pointing outside it: neither is followed
    _link(repo, "apps/link.yaml", "a.yaml")
    _link(repo, "apps/secret.yaml", str(outside / "secret.yaml"))
    links = repo.commit("symlinks, not followed", {"apps/a.yaml": app_yaml("a", price=2)})
    good = repo.commit("no symlinks", {"apps/link.yaml": None, "apps/secret.yaml": None})
    # 2. a working_dir that is a symlink to a directory outside the repository
    _link(repo, "code", str(outside / "code"))
    bad_outside = repo.commit("working_dir through an outside symlink", {"apps/c.yaml": CODE_APP})
    # 3. the same through a symlink to a directory inside the repository
    (repo.path / "real").mkdir()
    (repo.path / "real" / "main.py").write_text("app = 1\n")
    _link(repo, "code", "real")
    bad_inside = repo.commit("working_dir through an inside symlink")

    outcomes: dict[str, list[tuple[int, list[str]]]] = {"local": [], "agent": []}
    for sha in (links, good, bad_outside, bad_inside):
        git(repo.path, "checkout", "--quiet", "--detach", sha)
        for name, bare in (("local", local), ("agent", agented)):
            pushed = repo.push(bare.as_uri())
            lines = [line.replace(sha[:12], "<sha>") for line in remote_lines(pushed.stderr)]
            outcomes[name].append((pushed.returncode, _verdict(lines)))
            expected = good if sha == good else None
            if expected:
                assert branch_sha(bare) == good, (name, pushed.stderr)
        git(repo.path, "checkout", "--quiet", "main")

    assert outcomes["local"] == outcomes["agent"], outcomes
    linked, (accepted, accepted_lines), (refused, refused_lines), (refused2, refused2_lines) = (
        outcomes["local"]
    )
    assert linked[0] != 0, linked
    for name in ("apps/link.yaml", "apps/secret.yaml"):
        assert any(f"{name}:0:0: error" in line and "symbolic link" in line for line in linked[1])
    assert "stolen" not in " ".join(linked[1])  # the outside file was never read
    assert accepted == 0 and accepted_lines[0] == "gitsync: <sha> is valid", accepted_lines
    assert refused != 0 and refused2 != 0
    assert refused_lines[0] == "gitsync: push refused: main at <sha> is invalid:"
    assert any(
        "goes through a symlink (code); symlinks are not followed" in line for line in refused_lines
    )
    assert refused2_lines == refused_lines  # inside or outside, the same refusal
    for bare in (local, agented):
        assert branch_sha(bare) == good  # nothing refused landed
    assert first != good
    assert agent.stop() == 0
