"""One private Ray cluster for every Ray test of the session (reference/ray-local.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from raycluster import RayCluster, start_cluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = start_cluster(num_cpus=2)
    try:
        yield cluster
    finally:
        cluster.stop()
