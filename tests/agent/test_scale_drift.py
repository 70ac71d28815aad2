"""A scale through Ray's scale endpoint is a change to the declarative config: an agent
watching git reports it as drift, and with --self-heal reverts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitsync.agent.loop import Agent, AgentConfig
from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.source import open_source
from gitsync.api import serve_scale
from gitsync.sources.spec import SourceSpec
from gitsync.sync.target import EmbeddedTarget
from tests.testing.git import WorkRepo

APP = """\
name: shop
route_prefix: /shop
import_path: shop:app
external_scaler_enabled: true
deployments:
  - name: Stand
    num_replicas: 1
"""


def _agent(repo: WorkRepo, target: EmbeddedTarget, tmp_path: Path, **config: Any) -> Agent:
    metrics = AgentMetrics()
    source = open_source(SourceSpec(str(repo.path), ref="main"), metrics, cache_dir=tmp_path / "c")
    return Agent(source, target, AgentConfig(**config), metrics=metrics)


def _replicas(target: EmbeddedTarget) -> int:
    config = target.live("default", "default").config or {}
    return int(config["applications"][0]["deployments"][0]["num_replicas"])


@pytest.mark.parametrize("self_heal", [False, True])
def test_scale_is_drift_from_git(
    tmp_path: Path, target: EmbeddedTarget, repo: WorkRepo, self_heal: bool
) -> None:
    repo.commit("shop", {"apps/shop.yaml": APP})
    agent = _agent(repo, target, tmp_path, self_heal=self_heal)
    applied = agent.reconcile_once()
    assert applied.result == "applied"

    scaled = serve_scale.scale(target.engine, "shop", "Stand", 3)
    assert scaled.actions.summary()["scale"] == 1
    assert target.engine.history("default")[0].meta["source"] == "scale"
    assert _replicas(target) == 3

    seen = agent.reconcile_once()
    if not self_heal:
        assert seen.result == "drift"
        assert seen.summary == "Plan: 0 to create, 1 to update, 0 to delete."
        assert agent.status.drift.detected
        assert _replicas(target) == 3  # reported, not reverted
    else:
        assert seen.result == "applied"
        assert agent.status.drift.healed == 1
        assert _replicas(target) == 1
