"""Terminal escapes from the outside world (a commit message, an application name, a
file name, an argument quoted back in an error) are shown escaped by every command
and by both push hooks: they cannot retitle the window, clear the screen, move the
cursor or reorder text. Every text output goes through ``gitsync.output.echo``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.testing.configs import app_yaml
from tests.testing.engine import running_engine
from tests.testing.git import WorkRepo, git
from tests.testing.tools import gitsync_command, run_gitsync

# OSC (retitle, ended by BEL), CSI (clear screen, cursor up), C1 CSI, a bidi override.
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[1A\x9b6n\u202eevil"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
SHOWN = "\\x1b]0;owned\\x07\\x1b[2J"  # how the escaped form reads


def assert_escaped(output: str, where: str) -> None:
    """No raw control sequence anywhere, and the hostile text did reach the output (so
    the check is not vacuous)."""
    for char in RAW:
        assert char not in output, f"{where}: raw {char!r} in {output!r}"
    assert SHOWN in output, f"{where}: the hostile text is not shown at all: {output!r}"


def both(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def _yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (escapes, so the file itself is tame)."""
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text) + '"'


@pytest.fixture
def hostile_repo(tmp_path: Path) -> WorkRepo:
    """A good commit whose message is hostile, then a bad one whose application name
    and file name are."""
    repo = WorkRepo(tmp_path / "work")
    repo.commit(f"deploy {HOSTILE}", {"apps/a.yaml": app_yaml("a")})
    return repo


def test_every_command_shows_hostile_text_escaped(tmp_path: Path, hostile_repo: WorkRepo) -> None:
    state = tmp_path / "state"
    source = str(hostile_repo.path)
    synced = run_gitsync("sync", source, "--ref", "main", "--state-dir", str(state))
    assert synced.returncode == 0, both(synced)
    history = run_gitsync("history", "--state-dir", str(state))
    assert_escaped(both(history), "history")  # the commit message
    status = run_gitsync("status", "--state-dir", str(state))
    assert status.returncode == 0, both(status)
    assert not any(char in both(status) for char in RAW)

    hostile_repo.commit(
        "bad",
        {
            "apps/b.yaml": f"name: {_yaml_quoted('b' + HOSTILE)}\nimport_path: shop:app\n",
            f"apps/c{HOSTILE}.yaml": "name: c\nimport_path: 42\n",
        },
    )
    for command in (
        ["validate", source],
        ["diff", source, "--ref", "main", "--state-dir", str(state)],
        ["sync", source, "--ref", "main", "--state-dir", str(state)],
    ):
        done = run_gitsync(*command)
        assert done.returncode != 0 and "error" in both(done), both(done)  # refused
        assert_escaped(both(done), command[0])  # the file name; the app name is not echoed

    # errors that quote what the user typed
    usage = run_gitsync("history", f"--bogus{HOSTILE}")
    assert usage.returncode == 2
    assert_escaped(both(usage), "usage error")
    missing = run_gitsync("validate", str(tmp_path / f"nowhere{HOSTILE}"))
    assert missing.returncode != 0
    assert_escaped(both(missing), "error message")
    unreachable = run_gitsync("status", "--engine", f"http://127.0.0.1:9/{HOSTILE}")
    assert unreachable.returncode != 0
    assert not any(char in both(unreachable) for char in RAW)


def _run_hook(bare: Path, name: str, old: str, new: str) -> subprocess.CompletedProcess[str]:
    """The installed hook script, run the way git runs it (in the bare repository, one
    ``old new ref`` line on stdin), its output captured raw: git may itself filter
    what it relays, and our own output must not depend on that."""
    return subprocess.run(
        [str(bare / "hooks" / name)],
        cwd=bare,
        input=f"{old} {new} refs/heads/main\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_push_hooks_show_hostile_text_escaped(tmp_path: Path, hostile_repo: WorkRepo) -> None:
    bare = tmp_path / "deploy.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    good = hostile_repo.head()
    bad = hostile_repo.commit(
        "bad",
        {
            "apps/b.yaml": f"name: {_yaml_quoted('b' + HOSTILE)}\nimport_path: shop:app\n",
            f"apps/c{HOSTILE}.yaml": "name: c\nimport_path: 42\n",
        },
    )
    assert hostile_repo.push(bare.as_uri()).returncode == 0  # no hooks yet: objects land
    installed = run_gitsync("hook", "install", str(bare), "--state-dir", str(tmp_path / "state"))
    assert installed.returncode == 0, both(installed)

    refused = _run_hook(bare, "pre-receive", good, bad)
    assert refused.returncode == 1
    assert "push refused" in refused.stdout
    assert_escaped(both(refused), "pre-receive")

    # the relayed "remote:" lines of a real push carry no raw sequence either
    hostile_repo.commit("bad again", {"apps/b2.yaml": f"name: {_yaml_quoted(HOSTILE)}\n"})
    pushed = hostile_repo.push(bare.as_uri())
    assert pushed.returncode != 0
    assert not any(char in pushed.stderr for char in RAW), pushed.stderr

    usage = subprocess.run(
        gitsync_command("hook", "pre-receive", f"--bogus{HOSTILE}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2
    assert_escaped(both(usage), "hook usage error")
    module_usage = subprocess.run(
        [*gitsync_command()[:2], "gitsync.hooks", "pre-receive", f"--bogus{HOSTILE}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert module_usage.returncode == 2
    assert_escaped(both(module_usage), "python -m gitsync.hooks usage error")


def test_the_engine_banner_shows_a_hostile_state_directory_escaped(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    with running_engine(tmp_path / f"state{HOSTILE}", log) as engine:
        assert engine.url
    assert_escaped(log.read_text(errors="replace"), "engine banner")
