"""The agent suite's engine: each test that reconciles in-process runs twice, on the
embedded SQLite store and on a fresh PostgreSQL database (``store_url``). The agent
process tests run on SQLite, but for the lease tests, which run on both and a remote engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.engine import Engine
from gitsync.sync.target import EmbeddedTarget


@pytest.fixture
def target(tmp_path: Path, store_url: str | None) -> Iterator[EmbeddedTarget]:
    state_dir = tmp_path / "state"
    with EmbeddedTarget(state_dir, engine=Engine(state_dir, store=store_url)) as opened:
        yield opened
