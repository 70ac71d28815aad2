from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.engine import running_engine
from tests.testing.tools import ROOT


@pytest.fixture
def config_repo(tmp_path: Path) -> Path:
    """A copy of example-repo/ to edit."""
    target = tmp_path / "repo"
    shutil.copytree(ROOT / "example-repo", target)
    return target


@pytest.fixture
def engine_server(tmp_path: Path) -> Iterator[str]:
    """A real ``gitsync engine`` process on an ephemeral loopback port."""
    with running_engine(tmp_path / "engine-state", tmp_path / "engine.log") as engine:
        yield engine.url
