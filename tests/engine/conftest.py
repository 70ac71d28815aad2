from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitsync.config import package
from gitsync.engine import Engine


class ManualClock:
    """Vespa's ManualClock: time moves only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def serve_config(*apps: tuple[str, str], price: int = 1, import_path: str = "mod:app") -> bytes:
    """A deploy config with one deployment per application: (name, route_prefix) pairs."""
    lines = ["applications:"]
    for name, prefix in apps:
        lines += [
            f"  - name: {name}",
            f"    route_prefix: {prefix}",
            f"    import_path: {import_path}",
            "    deployments:",
            "      - name: Model",
            "        num_replicas: 1",
            f"        user_config: {{price: {price}}}",
        ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    with Engine(tmp_path / "state", clock=clock) as opened:
        yield opened


@pytest.fixture
def zip_of() -> Callable[[bytes], bytes]:
    """A zip package holding one config file."""

    def build(config: bytes) -> bytes:
        return package.build_zip({"serve.yaml": config})

    return build


@pytest.fixture
def config_of() -> Callable[..., bytes]:
    """``config_of(("app1", "/a"), price=2)``: see serve_config."""
    return serve_config
