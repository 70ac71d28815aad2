"""Git sources speak only allowed protocols, and outside text cannot drive a terminal."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from gitsync.errors import SourceError
from gitsync.output import echo, paint, safe_text
from gitsync.sources.git import GitSource
from gitsync.sources.gitauth import git_environment


@pytest.mark.parametrize(
    "url",
    ["fd::17", "fd::17/repo", "ext::sh -c touch% {marker}", "ext::sh", "foo://host/repo.git"],
)
def test_forbidden_transports_fail_at_once(tmp_path: Path, url: str) -> None:
    marker = tmp_path / "pwned"
    start = time.monotonic()
    with pytest.raises(SourceError) as caught:
        source = GitSource(url.format(marker=marker), cache_dir=tmp_path / "cache", timeout_s=60)
        source.remote_revision()
    assert time.monotonic() - start < 5
    assert "not allowed" in caught.value.message
    assert not marker.exists()


def test_git_children_may_only_speak_the_allowed_protocols() -> None:
    assert git_environment(None, 10)["GIT_ALLOW_PROTOCOL"] == "https:http:ssh:git"
    local = git_environment(None, 10, allow_file=True)["GIT_ALLOW_PROTOCOL"]
    assert local.split(":")[-1] == "file"


def test_control_sequences_from_outside_are_shown_escaped() -> None:
    hostile = "fix \x1b]0;owned\x07 \x1b[2J\x1b[1A \u202egnp.exe\r done"
    stream = io.StringIO()
    echo(paint("ok", "green", True) + " " + hostile, stream)
    out = stream.getvalue()
    assert out.startswith("\x1b[32mok\x1b[0m ")  # our own colour survives
    rest = out[len("\x1b[32mok\x1b[0m ") :]
    assert "\x1b" not in rest and "\x07" not in rest and "\u202e" not in rest and "\r" not in rest
    assert "\\x1b]0;owned" in rest and "\\u202e" in rest
    assert safe_text("line\n\ttab") == "line\n\ttab"


def test_a_symlink_reads_the_same_through_the_agent_and_locally(tmp_path: Path) -> None:
    """The push hook sends ``git archive`` to the agent; without an agent it reads the
    tree itself. Both must see the same files and the same (unfollowed) symlink."""
    import os
    import subprocess

    from gitsync.config import package
    from gitsync.config.loader import load_snapshot
    from gitsync.config.snapshot import Snapshot

    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    (repo / "apps" / "a.yaml").write_text(
        "applications:\n- name: a\n  import_path: m:a\n  route_prefix: /a\n"
    )
    os.symlink("a.yaml", repo / "apps" / "link.yaml")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "symlink"], check=True)
    archive = subprocess.run(
        [*git, "archive", "--format=tar.gz", "HEAD"], check=True, capture_output=True
    ).stdout

    files, links = package.read_source_tree(archive, "application/gzip", package.PackageLimits())
    local = GitSource(repo, cache_dir=tmp_path / "cache").snapshot()
    assert files == dict(local.files)
    assert links == local.symlinks == frozenset({"apps/link.yaml"})
    pushed = load_snapshot(Snapshot("x", files, links, {}))
    direct = load_snapshot(local)
    assert pushed.ok == direct.ok
    assert [i.message for i in pushed.issues] == [i.message for i in direct.issues]
