"""One private Ray cluster for every Ray test of the session (reference/ray-local.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testing.raycluster import RayCluster, start_cluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = start_cluster(num_cpus=2)
    try:
        yield cluster
    finally:
        cluster.stop()
