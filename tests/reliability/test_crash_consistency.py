"""Crash consistency: SIGKILL at random points of at least 200 syncs,
first of the embedded engine, then of a remote agent (and now and then its engine).
After every restart: one ACTIVE session per unit, generations only grow, the live
config is the active package's, the history is complete and every referenced file
exists. Then the agent converges to the source. The long runs are in
``bench/reliability.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crash_loops import (
    agent_converges_in_process,
    agent_crash_loop,
    engine_crash_loop,
)

SYNCS = 200


@pytest.mark.slow
def test_engine_killed_at_random_points_of_200_syncs_keeps_every_invariant(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    stats = engine_crash_loop(state, syncs=SYNCS, seed=8)
    assert stats.violations == []
    assert stats.syncs >= SYNCS
    # Every kill point was reached, and the loop really activated between kills.
    assert set(stats.phases) == {
        "none",
        "after-create",
        "after-upload",
        "after-prepare",
        "in-activate",
    }
    assert stats.kills >= 30
    assert stats.activations >= 50
    # Then an agent brings a unit to its source.
    source = tmp_path / "source"
    source.mkdir()
    (source / "serve.yaml").write_text(
        "applications:\n  - name: second-app0\n    route_prefix: /second/app0\n"
        "    import_path: mod:app\n"
    )
    assert agent_converges_in_process(state, source, "second")


@pytest.mark.slow
def test_remote_agent_killed_at_random_points_keeps_every_invariant_and_converges(
    tmp_path: Path,
) -> None:
    stats = agent_crash_loop(tmp_path, syncs=SYNCS, seed=9)
    assert stats.violations == []
    assert stats.syncs >= SYNCS
    assert stats.kills >= 5
    assert stats.converged
