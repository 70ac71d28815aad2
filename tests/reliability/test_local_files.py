"""Files gitsync opens by name, with something else in their place: a config file of a
watched directory, a file named on the command line. Whatever lies
there (a FIFO, a socket, a device, a link to the reader's standard input, to
``/dev/zero``, to a huge file or out of the tree, a directory, a loop), real ``gitsync``
processes finish within a timeout with a clear message at the file or carry on as if it
were absent, never trace back, read nothing past the caps, and write nothing elsewhere."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.hostile_inputs import FILE_PLACES, listing, release_fifo_readers
from tests.testing.configs import serve_yaml
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
# of FILE_PLACES is left out of the config, never followed.
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


@pytest.mark.parametrize("name", LINKS)
def test_a_config_file_that_is_a_link_is_never_followed(
    tmp_path: Path, tree: Path, outside: Path, name: str
) -> None:
    (tree / "serve.yaml").unlink()
    FILE_PLACES[name](tree / "serve.yaml", outside, GOOD)
    before = listing(outside)
    done = gitsync("validate", str(tree), cwd=tmp_path)
    assert done.returncode == 0, said(done)
    assert "valid: 1 application in 1 file" in said(done)  # b.yaml alone
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
