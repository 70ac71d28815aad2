"""Sessions by state, for the ``gitsync_sessions`` gauge of /metrics."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import generate_latest

from gitsync.api.metrics import ApiMetrics
from gitsync.engine import Engine


def test_sessions_are_counted_by_tenant_and_state(tmp_path: Path) -> None:
    with Engine(tmp_path) as engine:
        engine.serve_deploy({"applications": [{"name": "a", "import_path": "m:app"}]})
        engine.serve_deploy({"applications": [{"name": "b", "import_path": "m:app"}]})
        engine.create_session_from_files("default", {"x.yaml": b"applications: []\n"})
        assert engine.session_counts() == {
            ("default", "ACTIVE"): 1,
            ("default", "DEACTIVATED"): 1,
            ("default", "NEW"): 1,
        }
        lines = generate_latest(ApiMetrics(engine).registry).decode().splitlines()
        assert 'gitsync_sessions{state="NEW",tenant="default"} 1.0' in lines
        assert 'gitsync_sessions{state="DEACTIVATED",tenant="default"} 1.0' in lines
