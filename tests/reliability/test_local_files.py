"""Files gitsync opens by name, with something else in their place: a config file of a
watched directory, a file named on the command line, the records of a state directory
(the served API's URL, the engine's, an agent's and a git cache's lock files), a bare
repository's hooks and Ray's token file. Whatever lies there (a FIFO, a socket, a device,
a link to the reader's standard input, to ``/dev/zero``, to a huge file or out of the
tree, a directory, a loop), real ``gitsync`` processes finish within a timeout with a
clear message at the file or carry on as if it were absent, never trace back, read
nothing past the caps, and write nothing elsewhere."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitsync.sources.git import GitSource
from gitsync.sources.gitcmd import GitSourceError
from tests.reliability.hostile_inputs import FILE_PLACES, listing, release_fifo_readers
from tests.testing.agent import AgentProcess
from tests.testing.configs import serve_yaml
from tests.testing.git import WorkRepo, git
from tests.testing.tools import gitsync_command, run_bounded

RUN_TIMEOUT_S = 30.0  # each run takes about a second; a hang is killed, not waited on
FILE_CAP = 10 * 1024 * 1024  # the sources' cap on one file (collect.Limits)
GOOD = serve_yaml(("a", "/a"))
OTHER = serve_yaml(("b", "/b"))


def gitsync(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = run_bounded(gitsync_command(*args), cwd=cwd, timeout_s=RUN_TIMEOUT_S)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def said(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the tree, for whatever the hostile name points at."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """A watched config directory: ``serve.yaml`` (application a) and ``b.yaml`` (b)."""
    root = tmp_path / "config"
    root.mkdir()
    (root / "serve.yaml").write_bytes(GOOD)
    (root / "b.yaml").write_bytes(OTHER)
    yield root
    release_fifo_readers(root / "serve.yaml")


def _socket(path: Path, outside: Path, good: bytes) -> None:
    # Bound by a child in the file's directory: a socket's path must be short.
    code = "import socket; socket.socket(socket.AF_UNIX).bind('serve.yaml')"
    subprocess.run([sys.executable, "-c", code], cwd=path.parent, check=True, timeout=30)
    assert stat.S_ISSOCK(path.lstat().st_mode)


def _zero_device(path: Path, outside: Path, good: bytes) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # what /dev/zero is
    except PermissionError:
        pytest.skip("creating a device node is not allowed here")


def _sparse_past_the_cap(path: Path, outside: Path, good: bytes) -> None:
    with path.open("wb") as big:
        big.truncate(1 << 30)


# Inside the tree, each of these is refused at its name with these words; every link
# of FILE_PLACES is never followed, and one named like a config file is refused too.
REFUSED_IN_TREE: dict[str, tuple[Callable[[Path, Path, bytes], None], str]] = {
    "a FIFO": (FILE_PLACES["a FIFO"], "serve.yaml is a FIFO, not a regular file"),
    "a socket": (_socket, "serve.yaml is a socket, not a regular file"),
    "a device": (_zero_device, "serve.yaml is a character device, not a regular file"),
    "a sparse file past the cap": (
        _sparse_past_the_cap,
        f"serve.yaml: file is {1 << 30} bytes, over the limit of {FILE_CAP} bytes",
    ),
}
LINKS = [name for name in FILE_PLACES if "symlink" in name]


@pytest.mark.parametrize("name", list(REFUSED_IN_TREE))
def test_a_config_file_that_is_not_a_file_is_refused_and_nothing_is_lost(
    tmp_path: Path, tree: Path, outside: Path, name: str
) -> None:
    state = tmp_path / "state"
    applied = gitsync("sync", str(tree), "--state-dir", str(state), cwd=tmp_path)
    assert applied.returncode == 0, said(applied)
    place, words = REFUSED_IN_TREE[name]
    (tree / "serve.yaml").unlink()
    place(tree / "serve.yaml", outside, GOOD)

    for command in (["validate", str(tree)], ["sync", str(tree), "--state-dir", str(state)]):
        done = gitsync(*command, cwd=tmp_path)
        assert done.returncode != 0, said(done)
        assert words in said(done)
    # Application a is still live: with serve.yaml back, there is nothing to do.
    (tree / "serve.yaml").unlink()
    (tree / "serve.yaml").write_bytes(GOOD)
    same = gitsync("diff", str(tree), "--state-dir", str(state), cwd=tmp_path)
    assert same.returncode == 0, said(same)


def test_the_agent_reports_a_fifo_in_its_directory_and_applies_nothing_until_it_is_gone(
    tmp_path: Path, tree: Path, start_agent: Callable[..., AgentProcess]
) -> None:
    agent = start_agent(str(tree), "--interval", "3600")
    first = agent.wait_status(
        lambda s: bool(s["lastSync"]) and s["lastSync"]["result"] == "applied", "the first sync"
    )
    (tree / "serve.yaml").unlink()
    os.mkfifo(tree / "serve.yaml")
    failed = agent.wait_status(
        lambda s: s["lastSync"]["result"] == "source-unavailable", "the FIFO reported"
    )
    assert "serve.yaml is a FIFO, not a regular file" in failed["lastSync"]["error"]
    assert failed["revisions"]["applied"] == first["revisions"]["applied"]
    (tree / "serve.yaml").unlink()
    (tree / "serve.yaml").write_bytes(GOOD)
    back = agent.wait_status(lambda s: s["lastSync"]["result"] == "in-sync", "serve.yaml back")
    assert back["generation"] == first["generation"]  # application a was never deleted
    assert agent.stop() == 0


def test_an_engine_state_directory_inside_the_tree_is_not_content(
    tmp_path: Path, tree: Path, start_agent: Callable[..., AgentProcess]
) -> None:
    """``gitsync sync`` in a config directory keeps its state in ``./.gitsync`` there by
    default: its database is not config, and its writes are no change to sync."""
    first = gitsync("sync", cwd=tree)
    assert first.returncode == 0, said(first)
    again = gitsync("sync", cwd=tree)
    assert again.returncode == 0, said(again)
    assert "Already in sync at generation 2." in said(again)
    agent = start_agent(str(tree), "--interval", "3600", state_dir=tree / ".gitsync")
    synced = agent.wait_status(lambda s: bool(s["lastSync"]), "the agent's first sync")
    assert synced["lastSync"]["result"] == "in-sync", synced
    time.sleep(3)  # enough for dozens of syncs, were the engine's writes a change
    later = agent.status()
    assert (later["generation"], later["reconciles"]) == (2, synced["reconciles"]), later
    assert agent.stop() == 0


@pytest.mark.parametrize("name", LINKS)
def test_a_config_file_that_is_a_link_is_refused_never_followed(
    tmp_path: Path, tree: Path, outside: Path, name: str
) -> None:
    (tree / "serve.yaml").unlink()
    FILE_PLACES[name](tree / "serve.yaml", outside, GOOD)
    before = listing(outside)
    done = gitsync("validate", str(tree), cwd=tmp_path)
    # Refused at its name, whatever it points to, and never read or followed.
    assert done.returncode == 1, said(done)
    assert "serve.yaml:0:0: error: $: is a symbolic link" in said(done)
    assert listing(outside) == before
    release_fifo_readers(outside / "fifo")


DEPTH = 1200


@pytest.fixture
def deep_tree(tree: Path) -> Iterator[Path]:
    """``tree`` with ``c.yaml`` (application c) ``DEPTH`` directories down. Removed
    from the bottom up afterwards: ``shutil.rmtree`` (pytest's cleanup of old temporary
    directories) recurses, and on Python 3.11 fails on a tree this deep."""
    levels = [tree]
    for _ in range(DEPTH):  # one at a time: makedirs recurses too
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    (levels[-1] / "c.yaml").write_bytes(serve_yaml(("c", "/c")))
    yield tree
    (levels[-1] / "c.yaml").unlink()
    for level in reversed(levels[1:]):
        level.rmdir()


def test_a_tree_a_thousand_directories_deep_is_read(tmp_path: Path, deep_tree: Path) -> None:
    done = gitsync("validate", str(deep_tree), cwd=tmp_path)
    assert done.returncode == 0, said(done)
    assert "valid: 3 applications in 3 files" in said(done)


# -- a file named on the command line: a link is followed, as the user meant -------------

NAMED: dict[str, str | None] = {
    "unreadable (mode 000)": None,  # root reads it: half a config
    "a FIFO": "named.yaml: it is a FIFO, not a regular file (give - to read standard input)",
    "a symlink to a FIFO elsewhere": "it is a FIFO, not a regular file",
    "a symlink to the reader's standard input": "it is a FIFO, not a regular file",
    "a symlink to an endless device": "it is a character device, not a regular file",
    "a symlink to a file past the cap": f"over the limit of {FILE_CAP} bytes",
    "a symlink to a good file elsewhere": "valid: 1 application in 1 file",
    "a symlink to a directory elsewhere": None,  # read as the directory it is
    "a dangling symlink into another directory": "No such file or directory",
    "a symlink to itself": "Too many levels of symbolic links",
    "a hard link to a file elsewhere": "named.yaml:1:1: error: $: a config file must be a mapping",
}


@pytest.mark.parametrize("name", list(NAMED))
def test_validate_reads_a_named_file_only_if_it_is_a_file_within_the_cap(
    tmp_path: Path, outside: Path, name: str
) -> None:
    named = tmp_path / "named.yaml"
    FILE_PLACES[name](named, outside, GOOD)
    before = listing(outside)
    try:
        done = gitsync("validate", "named.yaml", cwd=tmp_path)
    finally:
        release_fifo_readers(named)
        release_fifo_readers(outside / "fifo")
    words = NAMED[name]
    if words is not None:
        assert words in said(done)
        assert (done.returncode == 0) == (words == "valid: 1 application in 1 file"), said(done)
    assert listing(outside) == before


@pytest.mark.parametrize("given", ["/dev/zero", "a file past the cap"])
def test_validate_reads_standard_input_only_up_to_the_cap(
    tmp_path: Path, outside: Path, given: str
) -> None:
    source = Path(given) if given.startswith("/") else outside / "big"
    if not given.startswith("/"):
        _sparse_past_the_cap(source, outside, b"")
    with source.open("rb") as stdin:
        done = subprocess.run(
            gitsync_command("validate", "-"),
            cwd=tmp_path,
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, said(done)
    assert f"<stdin>: more than {FILE_CAP} bytes, over the limit of one file" in said(done)


# -- the state directory's records ---------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory after one sync of application a."""
    base = tmp_path_factory.mktemp("synced")
    (base / "config").mkdir()
    (base / "config" / "serve.yaml").write_bytes(GOOD)
    done = gitsync("sync", "config", "--state-dir", "state", cwd=base)
    assert done.returncode == 0, said(done)
    return base


@pytest.fixture
def synced(template: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "synced"
    shutil.copytree(template, copy, symlinks=True)
    yield copy
    for name in ("api.json", "engine.lock", "agents/default.default.lock"):
        release_fifo_readers(copy / "state" / name)


def _deep_json(path: Path, outside: Path, good: bytes) -> None:
    path.write_bytes(b"[" * 60_000)  # past the JSON reader's recursion bound


RECORD_PLACES = {**FILE_PLACES, "JSON nested 60,000 deep": _deep_json}


@pytest.mark.parametrize("name", list(RECORD_PLACES))
def test_every_command_carries_on_past_anything_in_the_served_records_place(
    synced: Path, outside: Path, name: str
) -> None:
    """``api.json`` names the API serving the state directory; anything else there is
    no server, and the command reads the store itself."""
    RECORD_PLACES[name](
        synced / "state" / "api.json", outside, b'{"pid": 1, "url": "http://127.0.0.1:9"}'
    )
    before = listing(outside)
    done = gitsync("diff", "config", "--state-dir", "state", cwd=synced)
    assert done.returncode == 0, said(done)  # the store's config: no change
    assert listing(outside) == before


LOCK_REFUSED = {
    **{name: "is a symbolic link, not a regular file" for name in LINKS},
    "a FIFO": "its lock file state/engine.lock is a FIFO, not a regular file",
    "a hard link to a file elsewhere": "is a file with 2 names (hard links), not a regular file",
}


@pytest.mark.parametrize("name", list(LOCK_REFUSED))
def test_an_engine_lock_file_that_is_not_its_own_file_is_refused_and_nothing_is_made_elsewhere(
    synced: Path, outside: Path, name: str
) -> None:
    lock = synced / "state" / "engine.lock"
    lock.unlink()
    FILE_PLACES[name](lock, outside, b"")
    before = listing(outside)
    done = gitsync("sync", "config", "--state-dir", "state", cwd=synced)
    assert done.returncode == 2, said(done)
    assert "Cannot open the state store in 'state'" in said(done)
    assert LOCK_REFUSED[name] in said(done)
    assert listing(outside) == before


DATABASE_FILES = ["engine.sqlite3", "engine.sqlite3-wal", "engine.sqlite3-shm"]
DATABASE_FILES.append("engine.sqlite3-journal")
DATABASE_PLACES = {
    "a FIFO": "a FIFO",
    "a symlink to the reader's standard input": "a symbolic link",
    "a dangling symlink into another directory": "a symbolic link",
}


@pytest.mark.parametrize("place", list(DATABASE_PLACES))
@pytest.mark.parametrize("name", DATABASE_FILES)
def test_sqlite_is_never_given_a_database_file_that_is_not_a_file_of_the_state_directory(
    synced: Path, outside: Path, name: str, place: str
) -> None:
    path = synced / "state" / name
    kept = synced / "kept"
    if path.exists():
        path.rename(kept)
    FILE_PLACES[place](path, outside, b"")
    before = listing(outside)
    try:
        done = gitsync("sync", "config", "--state-dir", "state", cwd=synced)
    finally:
        release_fifo_readers(path)
    assert done.returncode == 2, said(done)
    assert (
        f"Cannot open the state store in 'state': {name} is {DATABASE_PLACES[place]}, "
        "not a regular file; move it out of the state directory"
    ) in said(done)
    assert listing(outside) == before
    path.unlink()
    if kept.exists():
        kept.rename(path)
    again = gitsync("diff", "config", "--state-dir", "state", cwd=synced)
    assert again.returncode == 0, said(again)  # all there, as it was


AGENT_LOCK = "state/agents/default.default.lock"
# A child asks, as a push hook does, which agent holds the lock; then takes the lock
# and records its URL, as an agent does.
_ASK_AND_TAKE = """
import sys
from pathlib import Path
from gitsync.agent.lock import AgentLock, running_agent_url
from gitsync.errors import GitsyncError
print("asked:", running_agent_url(Path("state"), "default", "default"))
try:
    with AgentLock(Path("state"), "default", "default") as lock:
        lock.publish("http://127.0.0.1:9")
        print("took it")
except GitsyncError as exc:
    print("refused:", exc.message)
"""
AGENT_LOCK_PLACES = LOCK_REFUSED | {"a FIFO": "is a FIFO, not a regular file"}


@pytest.mark.parametrize("name", list(AGENT_LOCK_PLACES))
def test_an_agent_lock_file_that_is_not_its_own_file_stalls_no_hook_and_is_never_written(
    synced: Path, outside: Path, name: str
) -> None:
    lock = synced / AGENT_LOCK
    lock.parent.mkdir()
    FILE_PLACES[name](lock, outside, b"")
    before = listing(outside)
    done = run_bounded([sys.executable, "-c", _ASK_AND_TAKE], cwd=synced, timeout_s=RUN_TIMEOUT_S)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.splitlines()[0] == "asked: None"
    assert AGENT_LOCK_PLACES[name] in done.stdout.splitlines()[1]
    assert done.stdout.splitlines()[1].startswith("refused: cannot use the agent lock: ")
    assert listing(outside) == before


def test_a_git_cache_lock_that_is_a_link_is_refused_and_nothing_is_made_elsewhere(
    tmp_path: Path, outside: Path, repo: WorkRepo
) -> None:
    repo.commit("first", {"serve.yaml": GOOD})
    source = GitSource(f"file://{repo.path}", cache_dir=tmp_path / "cache", timeout_s=30)
    (tmp_path / "cache").mkdir()
    lock = source.repo_dir.with_name(source.repo_dir.name + ".lock")
    FILE_PLACES["a dangling symlink into another directory"](lock, outside, b"")
    before = listing(outside)
    with pytest.raises(GitSourceError, match="is a symbolic link, not a regular file"):
        source.snapshot()
    assert listing(outside) == before
    lock.unlink()
    assert source.snapshot().files == {"serve.yaml": GOOD}


# -- a bare repository's hooks, and the Ray token file ---------------------------------


def test_hook_install_waits_on_no_fifo_and_replaces_a_linked_hook_without_writing_through(
    tmp_path: Path, outside: Path
) -> None:
    bare = tmp_path / "deploy.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    shared = outside / "shared-hook"  # a script other repositories link to
    shared.write_text("#!/bin/sh\necho shared\n")
    (bare / "hooks" / "post-receive").symlink_to(shared)
    os.mkfifo(bare / "hooks" / "pre-receive")
    before = listing(outside)
    install = ["hook", "install", str(bare), "--state-dir", str(tmp_path / "state")]
    try:
        refused = gitsync(*install, cwd=tmp_path)
        assert refused.returncode == 2, said(refused)
        assert "pre-receive exists and was not written by gitsync: pass --force" in said(refused)
        forced = gitsync(*install, "--force", cwd=tmp_path)
        assert forced.returncode == 0, said(forced)
    finally:
        release_fifo_readers(bare / "hooks" / "pre-receive")
    for name in ("pre-receive", "post-receive"):
        info = (bare / "hooks" / name).lstat()
        assert stat.S_ISREG(info.st_mode) and info.st_mode & 0o777 == 0o755
        assert b"# gitsync push-to-deploy hook" in (bare / "hooks" / name).read_bytes()
    assert listing(outside) == before
    assert shared.read_text() == "#!/bin/sh\necho shared\n"
    again = gitsync(*install, cwd=tmp_path)  # its own hooks: no --force needed
    assert again.returncode == 0, said(again)


_RAY_TOKEN = """
from gitsync.engine.ray_auth import ray_token
from gitsync.errors import GitsyncError
try:
    print("token:", ray_token())
except GitsyncError as exc:
    print("refused:", exc.message)
"""
RAY_TOKEN_FILES = {
    "a FIFO": "is a FIFO, not a token",
    "a symlink to the reader's standard input": "is a FIFO, not a token",
    "a symlink to an endless device": "is a character device, not a token",
    "a symlink to a file past the cap": "is too big, not a token",
    "a symlink to a directory elsewhere": "is a directory, not a token",
    "a symlink to a good file elsewhere": "token: s3cr3t",  # Ray's CLI follows it too
}


@pytest.mark.parametrize("name", list(RAY_TOKEN_FILES))
def test_the_ray_token_file_is_read_only_if_it_is_a_small_file(
    tmp_path: Path, outside: Path, name: str
) -> None:
    token_file = tmp_path / "auth_token"
    FILE_PLACES[name](token_file, outside, b"s3cr3t\n")
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "", "RAY_AUTH_TOKEN_PATH": str(token_file)}
    try:
        done = run_bounded(
            [sys.executable, "-c", _RAY_TOKEN], cwd=tmp_path, env=env, timeout_s=RUN_TIMEOUT_S
        )
    finally:
        release_fifo_readers(token_file)
    assert "Traceback" not in done.stderr, done.stderr
    assert RAY_TOKEN_FILES[name] in done.stdout
