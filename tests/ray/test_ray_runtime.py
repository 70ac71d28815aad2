"""The engine drives a real Ray cluster: example-repo from git, through Ray's proxy.

The tests of this module run in order on one engine and one git repository: deploy,
change a user_config (in place), change code (replicas replaced), break an import_path
(automatic rollback), drift and self-heal, remove an application, and the real
``serve status`` pointed at the engine's API.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitsync.config import loader
from gitsync.engine import Engine, HistoryEntry
from gitsync.engine.ray import RayRuntime
from gitsync.engine.records import DeploySource
from gitsync.sources.git import GitSource
from gitsync.sync import reconcile
from tests.testing.api import run_server
from tests.testing.git import git
from tests.testing.raycluster import RayCluster
from tests.testing.tools import ROOT, tool_path
from tests.testing.wait import free_port

pytestmark = pytest.mark.ray

EXAMPLE = ROOT / "example-repo"
GATE_S = 300.0  # the machine is shared: generous bounds, never a timing assertion


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def small(deployments: list[dict[str, Any]]) -> None:
    """Few replicas, a tenth of a CPU each: the machine has two cores, shared."""
    for entry in deployments:
        entry["ray_actor_options"] = {"num_cpus": 0.1}
        if entry.get("num_replicas") not in (None, "auto"):
            entry["num_replicas"] = 1
        if "autoscaling_config" in entry:
            entry["autoscaling_config"]["max_replicas"] = 1


def named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(entry for entry in entries if entry["name"] == name)


@dataclass
class Stack:
    repo: Path
    engine: Engine
    runtime: RayRuntime
    proxy: str
    cluster: RayCluster

    def commit(self, message: str) -> HistoryEntry:
        """Commit the work tree, deploy the commit from git, wait for the gate."""
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", message)
        snapshot = GitSource(self.repo).snapshot()
        result = loader.load_snapshot(snapshot)
        assert result.ok, [issue.render() for issue in result.issues]
        files = reconcile.package_files(snapshot, result)
        source = DeploySource(revision=snapshot.revision, meta=dict(snapshot.meta))
        applied = self.engine.deploy_files(files, source=source)
        return self.settle(applied.generation)

    def settle(self, generation: int) -> HistoryEntry:
        entry = self.engine.wait_settled("default", generation, GATE_S)
        assert entry is not None
        return entry

    def replica_ids(self, app: str) -> dict[str, list[str]]:
        live = {a.name: a for a in self.engine.live().applications}[app]
        return {d.name: sorted(r["replica_id"] for r in d.replicas) for d in live.deployments}

    def call(self, route: str, body: dict[str, Any], until: Callable[[Any], bool]) -> Any:
        """POST through Ray's proxy until the answer satisfies ``until``."""
        deadline = time.monotonic() + GATE_S
        last: Any = None
        while time.monotonic() < deadline:
            try:
                response = httpx.post(self.proxy + route, json=body, timeout=30)
                last = response.json() if response.status_code == 200 else response.status_code
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            if until(last):
                return last
            time.sleep(0.5)
        raise AssertionError(f"{route} never answered as expected; last answer: {last!r}")


@pytest.fixture(scope="module")
def stack(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    repo = tmp_path_factory.mktemp("ray") / "repo"
    shutil.copytree(EXAMPLE, repo)
    port = free_port()
    edit_yaml(repo / "serve/instance.yaml", lambda d: d["http_options"].update(port=port))
    edit_yaml(repo / "serve/apps/fruit.yaml", lambda d: small(d["deployments"]))
    edit_yaml(
        repo / "serve/apps/calculator.yaml", lambda d: small(d["applications"][0]["deployments"])
    )
    git(repo, "init", "-q", "--initial-branch=main")
    runtime = RayRuntime(ray_cluster.dashboard, health_timeout=GATE_S, poll_interval=0.5)
    engine = Engine(tmp_path_factory.mktemp("state"), runtime=runtime).open()
    try:
        yield Stack(repo, engine, runtime, f"http://127.0.0.1:{port}", ray_cluster)
    finally:
        engine.close()


FRUIT = {"fruit": "mango", "amount": 2}


def test_example_repo_deploys_and_answers_through_rays_proxy(stack: Stack) -> None:
    entry = stack.commit("example-repo")
    assert (entry.health, entry.health_message) == (
        "healthy",
        "All changed applications are RUNNING.",
    )
    answer = stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict))
    assert answer == {"fruit": "mango", "amount": 2.0, "cost": 6.0, "currency": "EUR"}
    calc = stack.call("/calc", {"op": "mul", "value": 5}, lambda a: isinstance(a, dict))
    assert calc == {"op": "mul", "value": 5.0, "result": 15.0}
    state = stack.engine.live()
    assert state.runtime == "ray" and state.runtime_error is None and state.drift == []
    statuses = {a.name: a.status for a in state.applications}
    assert statuses == {"calculator": "RUNNING", "fruit_stand": "RUNNING"}
    fruit = {a.name: a for a in state.applications}["fruit_stand"]
    assert {d.name: d.status for d in fruit.deployments} == dict.fromkeys(
        ["FruitMarket", "MangoStand", "OrangeStand", "PearStand"], "HEALTHY"
    )
    assert all(r["state"] == "RUNNING" for d in fruit.deployments for r in d.replicas)
    # The code went up as a content-named package Ray now holds.
    uri = fruit.deployed_app_config["runtime_env"]["working_dir"]
    assert uri.startswith("gcs://_gitsync_pkg_") and uri.endswith(".zip")
    name = uri.removeprefix("gcs://")
    assert httpx.get(f"{stack.cluster.dashboard}/api/packages/gcs/{name}").status_code == 200


def test_a_user_config_change_is_applied_in_place(stack: Stack) -> None:
    before = stack.replica_ids("fruit_stand")

    def price(data: Any) -> None:
        named(data["deployments"], "MangoStand")["user_config"]["price"] = 5

    edit_yaml(stack.repo / "serve/apps/fruit.yaml", price)
    assert stack.commit("mango costs 5").health == "healthy"
    answer = stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict) and a["cost"] == 10.0)
    assert answer["cost"] == 10.0
    assert stack.replica_ids("fruit_stand") == before


def test_a_code_change_in_git_replaces_replicas_and_answers(stack: Stack) -> None:
    before = stack.replica_ids("fruit_stand")
    code = stack.repo / "fruit/fruit.py"
    code.write_text(
        code.read_text().replace(
            '"currency": self.currency}', '"currency": self.currency, "version": 2}'
        )
    )
    assert stack.commit("fruit v2").health == "healthy"
    answer = stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict) and "version" in a)
    assert answer == {
        "fruit": "mango",
        "amount": 2.0,
        "cost": 10.0,
        "currency": "EUR",
        "version": 2,
    }
    after = stack.replica_ids("fruit_stand")
    for deployment, ids in before.items():
        assert not set(ids) & set(after[deployment]), deployment


def test_a_broken_import_path_fails_and_rolls_back_automatically(stack: Stack) -> None:
    good = stack.engine.history("default")[0]
    edit_yaml(stack.repo / "serve/apps/fruit.yaml", lambda d: d.update(import_path="fruit:nope"))
    failed = stack.commit("break fruit")
    assert failed.health == "failed"
    assert failed.health_message.startswith("application 'fruit_stand' is DEPLOY_FAILED: ")
    assert "nope" in failed.health_message
    rollback = stack.engine.history("default")[0]
    assert (rollback.kind, rollback.rollback_of) == ("rollback", good.generation)
    assert rollback.generation > failed.generation
    assert stack.settle(rollback.generation).health == "healthy"
    answer = stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict))
    assert answer["version"] == 2
    git(stack.repo, "revert", "--no-edit", "HEAD")  # the repo follows the engine


def test_a_serve_deploy_behind_the_engines_back_is_drift_and_reapply_heals_it(
    stack: Stack,
) -> None:
    sent = stack.runtime.sent_config(stack.engine.live().app)
    assert sent is not None
    changed = yaml.safe_load(yaml.safe_dump(sent))
    fruit = next(a for a in changed["applications"] if a["name"] == "fruit_stand")
    named(fruit["deployments"], "MangoStand")["user_config"]["price"] = 7
    response = httpx.put(f"{stack.cluster.dashboard}/api/serve/applications/", json=changed)
    assert response.status_code == 200
    stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict) and a["cost"] == 14.0)
    deadline = time.monotonic() + GATE_S
    while not stack.engine.drift("default") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.engine.drift("default") == [
        "application 'fruit_stand' differs on Ray from the active generation"
    ]
    assert stack.engine.live().drift == stack.engine.drift("default")
    assert stack.engine.reapply("default") == stack.engine.live().generation
    stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict) and a["cost"] == 10.0)
    while stack.engine.drift("default") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.engine.drift("default") == []


def test_the_real_serve_status_pointed_at_the_engine_shows_rays_states(stack: Stack) -> None:
    with run_server(stack.engine.state_dir, engine=stack.engine) as live:
        done = subprocess.run(
            [tool_path("serve"), "status", "--address", live.url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    status = yaml.safe_load(done.stdout)
    assert status["applications"]["fruit_stand"]["status"] == "RUNNING"
    market = status["applications"]["fruit_stand"]["deployments"]["FruitMarket"]
    assert market["status"] == "HEALTHY" and market["replica_states"] == {"RUNNING": 1}


def test_removing_an_application_removes_it_from_ray(stack: Stack) -> None:
    shutil.rmtree(stack.repo / "calculator")
    (stack.repo / "serve/apps/calculator.yaml").unlink()
    assert stack.commit("drop the calculator").health == "healthy"
    stack.call("/calc", {"op": "mul", "value": 5}, lambda a: a == 404)
    deadline = time.monotonic() + GATE_S
    apps: dict[str, Any] = {}
    while time.monotonic() < deadline:
        apps = httpx.get(f"{stack.cluster.dashboard}/api/serve/applications/").json()[
            "applications"
        ]
        if "calculator" not in apps:
            break
        time.sleep(0.5)
    assert sorted(apps) == ["fruit_stand"]
    assert [a.name for a in stack.engine.live().applications] == ["fruit_stand"]


def test_the_agent_reports_rays_failure_and_self_heals_drift_on_ray(stack: Stack) -> None:
    """The agent's side: Ray's failure message in the agent's status, and --self-heal
    restoring a config someone PUT straight to Ray."""
    from gitsync.agent.loop import Agent, AgentConfig
    from gitsync.agent.metrics import AgentMetrics
    from gitsync.agent.source import open_source
    from gitsync.sources.spec import SourceSpec
    from gitsync.sync.target import EmbeddedTarget

    metrics = AgentMetrics()
    source = open_source(SourceSpec(str(stack.repo)), metrics)
    target = EmbeddedTarget(stack.engine.state_dir, engine=stack.engine)
    agent = Agent(source, target, AgentConfig(self_heal=True), metrics=metrics)
    first = agent.reconcile_once()
    assert first.result in ("in-sync", "applied"), first
    status = agent.status.to_json()
    assert status["runtime"]["name"] == "ray"
    failure = status["runtime"]["lastFailure"]  # the broken import_path of an earlier test
    assert failure is not None and "DEPLOY_FAILED" in failure["message"], status["runtime"]

    sent = stack.runtime.sent_config(stack.engine.live().app)
    assert sent is not None
    changed = yaml.safe_load(yaml.safe_dump(sent))
    fruit = next(a for a in changed["applications"] if a["name"] == "fruit_stand")
    named(fruit["deployments"], "MangoStand")["user_config"]["price"] = 9
    assert (
        httpx.put(f"{stack.cluster.dashboard}/api/serve/applications/", json=changed).status_code
        == 200
    )
    stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict) and a["cost"] == 18.0)
    deadline = time.monotonic() + GATE_S
    while not stack.engine.drift("default") and time.monotonic() < deadline:
        time.sleep(0.2)
    healed = agent.reconcile_once()
    assert healed.result == "applied", healed
    assert healed.summary is not None and healed.summary.startswith(
        "runtime differs from generation"
    )
    assert agent.status.drift.healed == 1
    stack.call("/fruit", FRUIT, lambda a: isinstance(a, dict) and a["cost"] == 10.0)
