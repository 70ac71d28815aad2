"""read_directory and DirectoryWatcher on real trees in tmp_path."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitsync.engine.store import LOCK_NAME
from gitsync.errors import SourceError, UnsafeInput
from gitsync.sources.collect import STATE_LOCK_NAME
from gitsync.sources.directory import DirectoryWatcher, read_directory


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_files_are_read_with_relative_posix_paths(tmp_path: Path) -> None:
    make_tree(tmp_path, {"serve.yaml": "a: 1\n", "apps/fruit/app.yaml": "b: 2\n"})
    snap = read_directory(tmp_path)
    assert snap.files == {"apps/fruit/app.yaml": b"b: 2\n", "serve.yaml": b"a: 1\n"}
    assert snap.revision.startswith("dir:")
    assert len(snap.revision) == len("dir:") + 64
    assert snap.meta == {"source": str(tmp_path)}


def test_revision_is_a_content_digest(tmp_path: Path) -> None:
    one = make_tree(tmp_path / "one", {"a.yaml": "x\n", "b/c.yaml": "y\n"})
    two = make_tree(tmp_path / "two", {"b/c.yaml": "y\n", "a.yaml": "x\n"})
    assert read_directory(one).revision == read_directory(two).revision
    (two / "a.yaml").write_text("x2\n")
    assert read_directory(one).revision != read_directory(two).revision
    # Moving content to another name is a change too.
    three = make_tree(tmp_path / "three", {"a2.yaml": "x\n", "b/c.yaml": "y\n"})
    assert read_directory(three).revision != read_directory(one).revision


def test_vcs_directories_are_skipped(tmp_path: Path) -> None:
    make_tree(tmp_path, {"app.yaml": "a\n", ".git/HEAD": "ref\n", "sub/.hg/store": "x\n"})
    assert list(read_directory(tmp_path).files) == ["app.yaml"]


def test_symlinks_are_recorded_never_followed(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"secret.txt": "do not read\n"})
    root = make_tree(tmp_path / "root", {"app.yaml": "a\n"})
    os.symlink(outside / "secret.txt", root / "leak.txt")
    os.symlink(outside, root / "leakdir")
    os.symlink("app.yaml", root / "alias.yaml")
    snap = read_directory(root)
    assert snap.files == {"app.yaml": b"a\n"}
    assert snap.symlinks == frozenset({"leak.txt", "leakdir", "alias.yaml"})
    # A symlink is part of the content: adding one changes the revision.
    os.symlink("app.yaml", root / "alias2.yaml")
    assert read_directory(root).revision != snap.revision


def test_an_engine_state_directory_inside_the_tree_is_skipped(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {"app.yaml": "a\n", ".gitsync/engine.lock": "", ".gitsync/engine.sqlite3": "db"},
    )
    assert list(read_directory(tmp_path).files) == ["app.yaml"]
    assert STATE_LOCK_NAME == LOCK_NAME  # the engine's own lock file's name


def test_special_files_are_refused_at_their_name(tmp_path: Path) -> None:
    """Left out, a FIFO named serve.yaml would take its applications out of the config
    without a word (tests/reliability/test_local_files.py runs the hostile variants)."""
    make_tree(tmp_path, {"app.yaml": "a\n"})
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "sub" / "pipe")
    with pytest.raises(SourceError) as info:
        read_directory(tmp_path)
    assert info.value.message == (
        "sub/pipe is a FIFO, not a regular file: a config tree holds regular files, "
        "directories and symbolic links only"
    )


def test_subpath(tmp_path: Path) -> None:
    make_tree(tmp_path, {"deploy/app.yaml": "a\n", "other.yaml": "b\n"})
    snap = read_directory(tmp_path, subpath="deploy/")
    assert snap.files == {"app.yaml": b"a\n"}
    assert snap.meta == {"source": str(tmp_path), "subpath": "deploy"}


def test_subpath_that_escapes_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root", {"app.yaml": "a\n"})
    make_tree(tmp_path / "elsewhere", {"x.yaml": "x\n"})
    with pytest.raises(UnsafeInput) as info:
        read_directory(root, subpath="../elsewhere")
    assert info.value.message == "subpath '../elsewhere' escapes the source root"
    with pytest.raises(UnsafeInput, match="^subpath '/etc' must be relative to the source root$"):
        read_directory(root, subpath="/etc")
    os.symlink(tmp_path / "elsewhere", root / "jump")
    with pytest.raises(UnsafeInput) as info:
        read_directory(root, subpath="jump")
    assert info.value.message == f"subpath 'jump' resolves outside {root}"


def test_missing_root_and_subpath(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read_directory(tmp_path / "nope")
    assert (
        info.value.message
        == f"directory {tmp_path / 'nope'} cannot be read: No such file or directory"
    )
    with pytest.raises(SourceError) as info:
        read_directory(tmp_path, subpath="missing")
    assert info.value.message == f"subpath 'missing' is not a directory in {tmp_path}"


def test_caps(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.yaml": "x" * 600, "b.yaml": "y" * 600, "c.yaml": "z"})
    with pytest.raises(UnsafeInput) as info:
        read_directory(tmp_path, max_file_bytes=500)
    assert info.value.message == "a.yaml: file is 600 bytes, over the limit of 500 bytes"
    with pytest.raises(UnsafeInput) as info:
        read_directory(tmp_path, max_total_bytes=1000)
    assert info.value.message == "b.yaml: snapshot is over the limit of 1000 bytes in total"
    with pytest.raises(UnsafeInput) as info:
        read_directory(tmp_path, max_files=2)
    assert info.value.message == ("c.yaml: more than 2 files in the snapshot (limit max_files=2)")


# -- the watcher -----------------------------------------------------------------------


class Recorder:
    """Collects callback batches; optionally re-reads the tree like the agent will."""

    def __init__(self, on_call: Callable[[], None] | None = None) -> None:
        self.batches: list[frozenset[str]] = []
        self._lock = threading.Lock()
        self._on_call = on_call

    def __call__(self, changed: frozenset[str]) -> None:
        with self._lock:
            self.batches.append(changed)
        if self._on_call is not None:
            self._on_call()

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[frozenset[str]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.batches) >= count:
                    return list(self.batches)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} callbacks, got {self.batches}")


def test_a_burst_of_writes_is_one_callback(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"app.yaml": "a\n"})

    # The callback reads the whole tree: its own reads must not trigger it again.
    def reread() -> None:
        read_directory(root)

    calls = Recorder(on_call=reread)
    with DirectoryWatcher(root, calls, debounce_s=0.5, max_delay_s=10) as watcher:
        for i in range(30):  # like a `git checkout` touching many files
            (root / f"app{i}.yaml").write_text(f"n: {i}\n")
        (root / "app.yaml").write_text("a: 2\n")
        batches = calls.wait_for(1)
        assert watcher.wait_idle(20)
        batches = calls.batches
    assert len(batches) == 1
    assert batches[0] == frozenset({"app.yaml", *(f"app{i}.yaml" for i in range(30))})


def test_editor_style_save_is_one_callback(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"app.yaml": "a\n"})
    calls = Recorder()
    with DirectoryWatcher(root, calls, debounce_s=0.5, max_delay_s=10) as watcher:
        # write a temp file, then rename it over the original (vim, VS Code, ...)
        (root / ".app.yaml.swp").write_text("a: 2\n")
        os.replace(root / ".app.yaml.swp", root / "app.yaml")
        calls.wait_for(1)
        assert watcher.wait_idle(20)
    assert calls.batches == [frozenset({".app.yaml.swp", "app.yaml"})]


def test_git_churn_and_paths_outside_the_subpath_are_ignored(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {".git/HEAD": "x\n", "deploy/app.yaml": "a\n", "docs/x.md": "d"})
    calls = Recorder()
    with DirectoryWatcher(root, calls, subpath="deploy", debounce_s=0.2) as watcher:
        for i in range(10):
            (root / ".git" / f"obj{i}").write_text("blob")
        (root / ".git" / "HEAD").write_text("y\n")
        (root / "docs" / "x.md").write_text("changed")
        # Events arrive in order: once this one is seen, the ignored ones were too.
        (root / "deploy" / "app.yaml").write_text("a: 2\n")
        calls.wait_for(1)
        assert watcher.wait_idle(20)
    assert calls.batches == [frozenset({"app.yaml"})]


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"app.yaml": "a\n"})
    failures = iter([True, False])

    def maybe_fail() -> None:
        if next(failures, False):
            raise RuntimeError("sync failed")

    calls = Recorder(on_call=maybe_fail)
    with DirectoryWatcher(root, calls, debounce_s=0.1) as watcher:
        (root / "app.yaml").write_text("a: 2\n")
        calls.wait_for(1)
        assert watcher.wait_idle(20)
        (root / "app.yaml").write_text("a: 3\n")
        calls.wait_for(2)


def test_stop_ends_the_threads(tmp_path: Path) -> None:
    watcher = DirectoryWatcher(tmp_path, Recorder())
    before = threading.active_count()
    watcher.start()
    watcher.stop()
    assert threading.active_count() == before
    with pytest.raises(SourceError):
        DirectoryWatcher(tmp_path / "missing", Recorder()).start()
