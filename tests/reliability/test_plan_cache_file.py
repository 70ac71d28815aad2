"""The embedded store's plan cache file, ``<state>/engine.sql-plans.json``, is input read
from disk: whatever lies there (damaged, cut short, not JSON, wrong-typed, stale, past the
size cap or the reader's depth bound, binary, a link elsewhere, a FIFO, a device, a file
no one may read), a real engine process opens, deploys and reads back the right config
within a timeout, reads far less than the cap, writes nothing outside its own file, and
leaves a good file that the next process uses as it is."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitsync.engine.store import plan_cache
from gitsync.engine.store.plan_cache import CACHE_NAME, PlanCache
from tests.reliability.hostile_inputs import FILE_PLACES, PLAN_FILES, listing
from tests.testing.tools import python_env

RUN_TIMEOUT_S = 60.0  # a run takes well under a second; a hang is killed, not waited on
# A whole run reads about 0.6 MB here (the sources the cache key digests, the database);
# a file past the 4 MiB cap read even once would add 4 MiB.
READ_BOUND = 2 << 20


def run_engine(state: Path, price: int) -> dict[str, Any]:
    """The worker, in its own process, bounded by ``RUN_TIMEOUT_S``. Its standard input
    is a pipe held open and never written, so reading it would wait for ever."""
    reader, writer = os.pipe()
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.plan_cache_worker", str(state), str(price)],
            stdin=reader,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=python_env(),
        )
        try:
            out, err = worker.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()
            pytest.fail(f"the engine did not finish within {RUN_TIMEOUT_S:g} s")
    finally:
        os.close(reader)
        os.close(writer)
    assert worker.returncode == 0, err.decode(errors="replace")
    assert b"Traceback" not in err, err.decode(errors="replace")
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory after one engine process: a database and a good plan file."""
    state = tmp_path_factory.mktemp("plans") / "state"
    run_engine(state, 1)
    return state


@pytest.fixture
def state(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(template, copy)
    return copy


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the state directory, for whatever the plan file points at."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


def good_data(state: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state / CACHE_NAME).read_bytes())
    return data


def assert_good(path: Path, plans: dict[str, Any]) -> None:
    """The engine's own file: regular, readable by its owner, made for this key, and
    holding exactly the plans the compiler makes, each of which loads."""
    info = path.lstat()
    assert stat.S_ISREG(info.st_mode), stat.filemode(info.st_mode)
    assert info.st_mode & 0o600 == 0o600, stat.filemode(info.st_mode)
    data = json.loads(path.read_bytes())
    assert data["key"] == plan_cache.cache_key()
    assert data["plans"] == plans
    cache = PlanCache(path.parent)
    cache.load()
    assert cache.head == data["head"]
    for key in plans:
        name, keys, many = key.split("|")
        loaded = cache.get(name, frozenset(filter(None, keys.split(","))), many == "many")
        assert loaded is not None, key
    assert "DROP TABLE" not in path.read_text()


def assert_recovers(state: Path, outside: Path, plans: dict[str, Any]) -> None:
    """Deploys and reads back, within bounds; rewrites a good file, and only that; the
    next process takes that file as it is (it has every plan: nothing to save)."""
    before = listing(outside)
    result = run_engine(state, 2)
    assert result["live"] == result["deployed"] > 1
    assert (result["app"], result["price"]) == (["app1", "/a"], 2)
    assert result["read"] < READ_BOUND, result["read"]
    assert listing(outside) == before  # nothing written or replaced elsewhere
    path = state / CACHE_NAME
    assert_good(path, plans)
    assert [p.name for p in state.iterdir() if p.name.startswith(f".{CACHE_NAME}")] == []
    kept = listing(state)
    again = run_engine(state, 3)
    assert again["live"] == again["deployed"] == result["deployed"] + 1
    assert (again["app"], again["price"]) == (["app1", "/a"], 3)
    assert [e for e in listing(state) if e[0] == CACHE_NAME] == [
        e for e in kept if e[0] == CACHE_NAME
    ]


@pytest.mark.parametrize("name", list(PLAN_FILES))
def test_a_damaged_plan_file_is_ignored_and_rewritten(
    state: Path, outside: Path, name: str
) -> None:
    good = good_data(state)
    content = PLAN_FILES[name](good, plan_cache.MAX_BYTES)
    (state / CACHE_NAME).write_bytes(content)
    assert_recovers(state, outside, good["plans"])


@pytest.mark.parametrize("name", list(FILE_PLACES))
def test_a_plan_file_that_is_not_a_plain_file_of_its_own_is_replaced(
    state: Path, outside: Path, name: str
) -> None:
    path = state / CACHE_NAME
    good = path.read_bytes()
    plans = good_data(state)["plans"]
    path.unlink()
    FILE_PLACES[name](path, outside, good)
    assert_recovers(state, outside, plans)


@pytest.fixture
def in_the_way(state: Path) -> Iterator[Path]:
    path = state / CACHE_NAME
    path.unlink()
    path.mkdir()
    (path / "kept").write_text("an operator's file")
    yield path


def test_a_directory_in_the_plan_files_place_is_left_alone(state: Path, in_the_way: Path) -> None:
    """Nothing can be saved there, and nothing is removed: every process compiles."""
    for price in (2, 3):
        result = run_engine(state, price)
        assert result["live"] == result["deployed"]
        assert (result["app"], result["price"]) == (["app1", "/a"], price)
        assert result["read"] < READ_BOUND
    assert [p.name for p in in_the_way.iterdir()] == ["kept"]
    assert [p.name for p in state.iterdir() if p.name.startswith(f".{CACHE_NAME}")] == []
