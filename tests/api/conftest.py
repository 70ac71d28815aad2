"""The API suite's server. In the modules where the store matters (``BOTH_STORES =
True``: the Deploy API's sessions, the Serve API's reads and writes, the agents' leases)
each test on ``live`` runs twice, over an engine on the embedded SQLite store and on a
fresh PostgreSQL database; elsewhere (CLIs, the guard, the contract fuzzing) on SQLite,
to keep the suite's time in bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.engine import Engine
from tests.testing.api import LiveServer, run_server
from tests.testing.postgres import PostgresServer

STORES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "api_store" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_STORES", False):
        metafunc.parametrize("api_store", STORES, indirect=True)


@pytest.fixture
def api_store(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the state directory) or a fresh database's URL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def live(tmp_path: Path, api_store: str | None) -> Iterator[LiveServer]:
    state_dir = tmp_path / "state"
    with (
        Engine(state_dir, store=api_store) as engine,
        run_server(state_dir, engine=engine) as server,
    ):
        yield server
