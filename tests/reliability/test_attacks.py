"""The attack campaign against a real engine process: every case is refused or served
cleanly; none is a 5xx, a hang, a crash or a leaked secret (bench/reliability.py runs
the same campaign at bigger scales)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.attacks import ATTACKS, run_campaign
from tests.testing.engine import running_engine

pytestmark = pytest.mark.slow


def test_no_attack_crashes_freezes_or_reads(tmp_path: Path) -> None:
    token = "attack-token"
    with running_engine(tmp_path / "state", tmp_path / "engine.log", token=token) as engine:
        assert engine.proc is not None
        proc = engine.proc
        result = run_campaign(engine.url, token, alive=lambda: proc.poll() is None)
    assert result.tried == len(ATTACKS)
    assert result.crashes == []
    assert result.hangs == []
    assert result.server_errors == []
    assert result.leaks == []
    assert result.refused >= len(ATTACKS) - 3, result
