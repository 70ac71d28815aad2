"""``gitsync agent`` as a real process: triggers, signals, logs, metrics, drift
through the HTTP API, and a remote engine that restarts under the agent."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.engine import EngineProcess
from tests.testing.git import WorkRepo

Start = Callable[..., AgentProcess]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "apps").mkdir(parents=True)
    (root / "apps" / "a.yaml").write_text(app_yaml("a", price=1))
    return root


def applied_ok(status: dict[str, object]) -> bool:
    last = status.get("lastSync")
    return isinstance(last, dict) and last.get("result") in ("applied", "in-sync")


def test_a_file_write_in_a_watched_directory_is_applied(src: Path, start_agent: Start) -> None:
    agent = start_agent(str(src), "--interval", "3600")
    first = agent.wait_status(applied_ok, "the first sync")
    (src / "apps" / "a.yaml").write_text(app_yaml("a", price=2))
    after = agent.wait_status(
        lambda s: s["generation"] != first["generation"] and applied_ok(s), "the watched write"
    )
    assert after["lastSync"]["reasons"] == ["watch"]
    assert "user_config.price 1 → 2" in after["lastSync"]["plan"]
    assert agent.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_finishes_the_step_and_exits_zero(src: Path, start_agent: Start, sig: int) -> None:
    agent = start_agent(str(src), "--interval", "3600")
    agent.wait_status(applied_ok, "the first sync")
    assert agent.stop(sig) == 0
    assert "agent stopped" in agent.output()


def test_json_logs_status_and_metrics(src: Path, start_agent: Start) -> None:
    agent = start_agent(str(src), "--interval", "3600", "--log-format", "json")
    status = agent.wait_status(applied_ok, "the first sync")
    assert status["source"] == {"kind": "directory", "location": str(src), "ref": "", "subpath": ""}
    assert status["nextPoll"] is not None
    metrics = httpx.get(agent.url + "/metrics", timeout=10).text
    for line in (
        'gitsync_agent_syncs_total{result="applied"} 1.0',
        "gitsync_agent_reconcile_duration_seconds_count",
        "gitsync_agent_commit_to_active_seconds_count",
        'gitsync_agent_webhook_requests_total{result="accepted"} 0.0',
        "gitsync_agent_applied_revision_info{generation=",
        "gitsync_http_requests_total",  # the engine API's own metrics, same registry
    ):
        assert line in metrics
    assert agent.stop() == 0
    records = [json.loads(line) for line in agent.output().splitlines() if line.strip()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    applied = [r for r in records if r["message"].startswith("reconcile applied: revision ")]
    assert applied and applied[0]["sync"]["result"] == "applied"
    assert "generation 2, Plan: 1 to create" in applied[0]["message"]


def test_drift_through_the_serve_api_is_reported_then_healed(src: Path, start_agent: Start) -> None:
    agent = start_agent(str(src), "--interval", "0.2")
    agent.wait_status(applied_ok, "the first sync")
    deploy = {
        "applications": [
            {**app_yaml_dict(), "deployments": [{"name": "Stand", "user_config": {"price": 42}}]}
        ]
    }
    put = httpx.put(agent.url + "/api/serve/applications/", json=deploy, timeout=10)
    assert put.status_code == 200, put.text
    drifted = agent.wait_status(lambda s: s["drift"]["detected"], "drift to be reported")
    assert drifted["drift"]["summary"] == "Plan: 0 to create, 1 to update, 0 to delete."
    assert drifted["lastSync"]["result"] == "drift"
    assert "user_config.price 42 → 1" in drifted["lastSync"]["plan"]
    assert agent.stop() == 0

    healer = start_agent(str(src), "--interval", "0.2", "--self-heal", name="healer")
    healed = healer.wait_status(
        lambda s: s["drift"]["healed"] >= 1 and not s["drift"]["detected"], "self-heal"
    )
    assert healed["lastSync"]["result"] in ("applied", "in-sync")


def app_yaml_dict() -> dict[str, object]:
    return {"name": "a", "route_prefix": "/a", "import_path": "shop:app"}


@pytest.fixture
def engine_process(tmp_path: Path) -> Iterator[EngineProcess]:
    engine = EngineProcess(tmp_path / "engine-state", tmp_path / "engine.log")
    try:
        yield engine.start()
    finally:
        engine.stop()


def test_the_engine_restarts_under_a_remote_agent(
    tmp_path: Path, repo: WorkRepo, start_agent: Start, engine_process: EngineProcess
) -> None:
    repo.commit("one", {"apps/a.yaml": app_yaml("a", price=1)})
    agent = start_agent(
        str(repo.path), "--ref", "main", "--engine", engine_process.url, "--interval", "0.2"
    )
    first = agent.wait_status(applied_ok, "the first sync")

    engine_process.stop()
    down = agent.wait_status(lambda s: s["degraded"], "the agent to notice the engine is down")
    assert down["lastSync"]["result"] == "engine-unavailable"
    assert down["lastSync"]["error"].startswith(
        f"cannot reach the engine at {engine_process.url} ("
    )
    assert down["generation"] == first["generation"]

    engine_process.start()
    back = agent.wait_status(lambda s: not s["degraded"] and applied_ok(s), "recovery")
    assert back["lastSync"]["result"] == "in-sync"  # the engine kept its state
    assert back["generation"] == first["generation"]
    sha = repo.commit("two", {"apps/a.yaml": app_yaml("a", price=2)})
    agent.wait_status(lambda s: s["revisions"]["applied"] == sha, "the next commit")
    assert agent.stop() == 0
