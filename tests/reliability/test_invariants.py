"""The invariant checker of the crash loops is not vacuous: each kind of torn state it
exists to catch makes it fail with a message naming the problem."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from gitsync.engine import DeploySource, Engine
from tests.testing.reliability import InvariantState, InvariantViolation, check_store, serve_config


def deployed(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    rng = random.Random(3)
    with Engine(state) as engine:
        for step in range(3):
            files = {"serve.yaml": serve_config(rng, "default", str(step))}
            engine.deploy_files(files, source=DeploySource(revision=f"r{step}"))
    return state


TAMPERING = {
    "two ACTIVE sessions": (
        "UPDATE sessions SET status = 'ACTIVE' WHERE id = 2",
        "ACTIVE sessions [2, 4], live session 4",
    ),
    "live config torn": (
        "UPDATE applications SET config = '{}'",
        "the live config is not session 4's config",
    ),
    "history record lost": (
        "DELETE FROM history WHERE generation = 4",
        "history does not lead with the active generation 4",
    ),
    "blob lost": ("DELETE FROM blobs", "rows refer to a missing blob"),
    "live Serve apps torn": (
        "DELETE FROM serve_apps",
        "live Serve applications differ from session 4's",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_a_torn_state_is_caught(tmp_path: Path, name: str) -> None:
    state = deployed(tmp_path)
    assert check_store(state, InvariantState()) == 3
    sql, message = TAMPERING[name]
    db = sqlite3.connect(state / "engine.sqlite3")
    db.execute(sql)
    db.commit()
    db.close()
    with pytest.raises(InvariantViolation, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_store(state, InvariantState())


def test_a_generation_going_back_and_a_lost_reported_activation_are_caught(
    tmp_path: Path,
) -> None:
    state = deployed(tmp_path)
    memory = InvariantState(last_generation={"default.default.default": 9})
    with pytest.raises(InvariantViolation, match="generation went back from 9 to 4"):
        check_store(state, memory)
    memory = InvariantState(reported={"default.default.default": {4, 7}})
    with pytest.raises(InvariantViolation, match=r"activations \[7\] were reported"):
        check_store(state, memory)
