"""PostgreSQL restarted under an engine: while it is down the engine says so on
``/state/v1/health`` and refuses requests with a clear 503; once it is back the engine
serves again without a restart, and nothing committed before is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.testing.engine import EngineProcess
from tests.testing.postgres import PostgresServer
from tests.testing.wait import wait_until

pytestmark = pytest.mark.slow  # its own PostgreSQL server, stopped and started

SERVE = "/api/serve/applications/"


def config(price: int) -> dict[str, object]:
    app = {
        "name": "a",
        "route_prefix": "/a",
        "import_path": "mod:app",
        "deployments": [{"name": "Model", "user_config": {"price": price}}],
    }
    return {"applications": [app]}


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.remove()


def test_engine_reports_down_refuses_with_503_and_recovers(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    url = own_postgres.create_database()
    node = EngineProcess(tmp_path / "e", tmp_path / "e.log", extra=["--store", url]).start()
    try:
        with httpx.Client(base_url=node.url, timeout=60) as client:
            assert client.put(SERVE, json=config(1)).status_code == 200
            own_postgres.stop()
            health = client.get("/state/v1/health")
            assert health.status_code == 503
            assert health.json()["status"]["code"] == "down"
            assert "cannot be reached" in health.json()["status"]["message"]
            refused = client.post(
                "/application/v2/tenant/default/prepareandactivate",
                content=b"not a zip",
                headers={"Content-Type": "application/zip"},
            )
            write = client.put(SERVE, json=config(2))
            assert write.status_code == 503, write.text
            assert "state store" in write.text and "cannot be reached" in write.text
            assert refused.status_code in (400, 503)  # a bad package may be refused first
            own_postgres.start()
            wait_until(lambda: client.get("/state/v1/health").status_code == 200, "health back up")
            assert client.put(SERVE, json=config(3)).status_code == 200
            served = client.get(SERVE).json()["applications"]["a"]
            assert served["deployed_app_config"]["deployments"][0]["user_config"] == {"price": 3}
            history = client.get("/api/gitsync/v1/tenant/default/application/default/history")
            assert [entry["generation"] for entry in history.json()] == [3, 2]
        assert node.proc is not None and node.proc.poll() is None  # never restarted
    finally:
        node.stop()
