"""The API suite's server: each test on ``live`` runs twice, over an engine on the
embedded SQLite store and on a fresh PostgreSQL database (``store_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.engine import Engine
from tests.testing.api import LiveServer, run_server


@pytest.fixture
def live(tmp_path: Path, store_url: str | None) -> Iterator[LiveServer]:
    state_dir = tmp_path / "state"
    with (
        Engine(state_dir, store=store_url) as engine,
        run_server(state_dir, engine=engine) as server,
    ):
        yield server
