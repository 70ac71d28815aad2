from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitsync.config import package
from gitsync.engine import Engine
from tests.testing.clock import ManualClock
from tests.testing.configs import serve_yaml


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock, store_url: str | None) -> Iterator[Engine]:
    with Engine(tmp_path / "state", clock=clock, store=store_url) as opened:
        yield opened


@pytest.fixture
def zip_of() -> Callable[[bytes], bytes]:
    """A zip package holding one config file."""

    def build(config: bytes) -> bytes:
        return package.build_zip({"serve.yaml": config})

    return build


@pytest.fixture
def config_of() -> Callable[..., bytes]:
    """``config_of(("app1", "/a"), price=2)``: see ``tests.testing.configs.serve_yaml``."""
    return serve_yaml
