"""The web page's browser lives in the shared support package. The page reads the
engine like any client, so its tests run on the embedded SQLite store only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.api import LiveServer, run_server
from tests.testing.ui import browser  # noqa: F401  (pytest finds fixtures by name)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(tmp_path / "state") as server:
        yield server
