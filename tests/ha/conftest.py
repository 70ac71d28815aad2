"""Fixtures of the high-availability tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.engine import EngineProcess
from tests.testing.postgres import PostgresServer


@pytest.fixture
def engines(tmp_path: Path, postgres: PostgresServer) -> Iterator[tuple[str, list[EngineProcess]]]:
    """Three engine processes on one fresh PostgreSQL database: (its URL, the engines)."""
    url = postgres.create_database()
    nodes = [
        EngineProcess(tmp_path / f"e{i}", tmp_path / f"e{i}.log", extra=["--store", url])
        for i in range(3)
    ]
    try:
        for node in nodes:
            node.start()
        yield url, nodes
    finally:
        for node in nodes:
            node.stop()
