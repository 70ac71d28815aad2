"""Fuzzing the live server: a bounded schemathesis run over
``schemas/openapi.yaml`` against a real ``gitsync engine`` process (token on, so the
mutating routes are exercised too), plus hypothesis over gitsync's own routes: zero 5xx."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.api_fuzz import FuzzStats, fuzz_native, fuzz_openapi, seed
from tests.testing.engine import running_engine

TOKEN = "fuzz-token"
EXAMPLES = int(os.environ.get("GITSYNC_API_FUZZ_EXAMPLES", "10"))


@pytest.mark.slow
def test_no_server_error_under_schemathesis_and_route_fuzzing(tmp_path: Path) -> None:
    stats = FuzzStats()
    with running_engine(tmp_path / "state", tmp_path / "engine.log", token=TOKEN) as engine:
        seed(engine.url, TOKEN)
        fuzz_openapi(engine.url, TOKEN, EXAMPLES, stats)
        fuzz_native(engine.url, TOKEN, EXAMPLES * 10, stats)
        assert engine.proc is not None and engine.proc.poll() is None  # still serving
    assert stats.operations >= 30
    assert stats.requests >= stats.operations * 2
    assert stats.server_errors == []
