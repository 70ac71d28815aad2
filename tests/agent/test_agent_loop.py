"""The reconcile loop, one reconcile at a time, against a real embedded engine and real
git repositories (local paths and file:// remotes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitsync.agent.loop import Agent, AgentConfig
from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.source import open_source
from gitsync.sources.spec import SourceSpec
from gitsync.sync.reconcile import PrunePolicy
from gitsync.sync.target import EmbeddedTarget
from tests.testing.configs import app_yaml
from tests.testing.git import WorkRepo, git

BAD_ROUTE = "name: a\nroute_prefix: nope\nimport_path: shop:app\n"
BAD_ROUTE_ISSUE = (
    "apps/a.yaml:2:15: error: route_prefix: route_prefix must start with '/', must not end "
    "with '/' (unless it is exactly '/') and must not contain '{' or '}'; got 'nope'"
)


def make_agent(spec: SourceSpec, target: EmbeddedTarget, tmp_path: Path, **config: Any) -> Agent:
    metrics = AgentMetrics()
    source = open_source(spec, metrics, cache_dir=tmp_path / "cache")
    return Agent(source, target, AgentConfig(**config), metrics=metrics)


def live_price(target: EmbeddedTarget, app: str = "a") -> int:
    config = target.live("default", "default").config or {}
    for entry in config["applications"]:
        if entry["name"] == app:
            return int(entry["deployments"][0]["user_config"]["price"])
    raise AssertionError(f"{app} is not live")


def test_directory_source_applies_then_stays_in_sync(
    tmp_path: Path, target: EmbeddedTarget
) -> None:
    src = tmp_path / "src"
    (src / "apps").mkdir(parents=True)
    (src / "apps" / "a.yaml").write_text(app_yaml("a", price=3))
    agent = make_agent(SourceSpec(str(src)), target, tmp_path)

    first = agent.reconcile_once()
    assert first.result == "applied"
    assert first.summary == "Plan: 1 to create, 0 to update, 0 to delete."
    again = agent.reconcile_once()
    assert (again.result, again.generation) == ("in-sync", first.generation)

    (src / "apps" / "a.yaml").write_text(app_yaml("a", price=4))
    changed = agent.reconcile_once()
    assert changed.result == "applied"
    assert changed.generation is not None and first.generation is not None
    assert changed.generation > first.generation
    assert "deployments.Stand.user_config.price 3 → 4 (reconfigure, in place)" in (
        changed.plan or ""
    )
    status = agent.status
    assert status.attempted_revision == status.applied_revision == changed.revision
    assert live_price(target) == 4


def test_drift_through_the_api_is_reported_and_not_reverted(
    tmp_path: Path, target: EmbeddedTarget
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.yaml").write_text(app_yaml("a", price=3))
    agent = make_agent(SourceSpec(str(src)), target, tmp_path)
    applied = agent.reconcile_once()

    # Someone else deploys through the Serve REST API (the engine call behind PUT).
    live = target.live("default", "default").config or {}
    live["applications"][0]["deployments"][0]["user_config"]["price"] = 99
    target.engine.serve_deploy(live)

    drift = agent.reconcile_once()
    assert drift.result == "drift"
    assert drift.summary == "Plan: 0 to create, 1 to update, 0 to delete."
    status = agent.status
    assert status.drift.detected
    assert status.drift.live_generation is not None
    assert applied.generation is not None and status.drift.live_generation > applied.generation
    assert status.applied_revision == applied.revision
    assert live_price(target) == 99  # reported, not reverted
    assert agent.reconcile_once().result == "drift"  # level-triggered: still there


def test_self_heal_reverts_drift(tmp_path: Path, target: EmbeddedTarget) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.yaml").write_text(app_yaml("a", price=3))
    agent = make_agent(SourceSpec(str(src)), target, tmp_path, self_heal=True)
    agent.reconcile_once()
    live = target.live("default", "default").config or {}
    live["applications"][0]["deployments"][0]["user_config"]["price"] = 99
    target.engine.serve_deploy(live)

    healed = agent.reconcile_once()
    assert healed.result == "applied"
    assert live_price(target) == 3
    assert agent.status.drift.healed == 1
    assert not agent.status.drift.detected
    assert target.live("default", "default").revision == healed.revision
    assert agent.reconcile_once().result == "in-sync"
    assert agent.status.drift.healed == 1  # the count survives the return to in-sync


def test_invalid_commit_applies_nothing_and_the_next_good_one_applies(
    tmp_path: Path, target: EmbeddedTarget, repo: WorkRepo
) -> None:
    good = repo.commit("good", {"apps/a.yaml": app_yaml("a", price=1)})
    agent = make_agent(SourceSpec(str(repo.path), ref="main"), target, tmp_path)
    first = agent.reconcile_once()
    assert (first.result, first.revision) == ("applied", good)

    bad = repo.commit("bad", {"apps/a.yaml": BAD_ROUTE})
    failed = agent.reconcile_once()
    assert failed.result == "invalid"
    assert failed.error == "Invalid application package:\n" + BAD_ROUTE_ISSUE
    status = agent.status
    assert (status.attempted_revision, status.applied_revision) == (bad, good)
    assert status.generation == first.generation
    assert target.live("default", "default").generation == first.generation
    assert status.backoff is not None and status.backoff["revision"] == bad

    # The same failing revision is not retried at once ...
    blocked = agent.reconcile_once()
    assert blocked.result == "backoff"
    assert blocked.error == failed.error
    last = agent.status.last_sync
    assert last is not None and (last.result, last.error) == ("invalid", failed.error)
    # ... but a new revision is.
    fixed = repo.commit("fixed", {"apps/a.yaml": app_yaml("a", price=2)})
    recovered = agent.reconcile_once()
    assert (recovered.result, recovered.revision) == ("applied", fixed)
    assert agent.status.backoff is None
    assert live_price(target) == 2
    history = target.history("default", "default")
    assert [entry.revision for entry in history[:2]] == [fixed, good]
    assert history[0].meta["message"] == "fixed"


def test_remote_unreachable_keeps_the_last_generation_and_recovers(
    tmp_path: Path, target: EmbeddedTarget, repo: WorkRepo
) -> None:
    first_sha = repo.commit("one", {"apps/a.yaml": app_yaml("a", price=1)})
    bare = repo.bare_clone(tmp_path / "remote.git")
    agent = make_agent(SourceSpec(bare.as_uri(), ref="main"), target, tmp_path)
    applied = agent.reconcile_once()
    assert (applied.result, applied.revision) == ("applied", first_sha)

    hidden = tmp_path / "hidden.git"
    bare.rename(hidden)  # the remote is gone
    down = agent.reconcile_once()
    assert down.result == "source-unavailable"
    assert down.error is not None and str(bare) in down.error
    status = agent.status
    assert status.degraded and status.degraded_reason == down.error
    assert status.generation == applied.generation
    assert target.live("default", "default").generation == applied.generation

    hidden.rename(bare)  # the remote is back, with a new commit
    second_sha = repo.commit("two", {"apps/a.yaml": app_yaml("a", price=2)})
    git(repo.path, "push", "--quiet", bare.as_uri(), "main")
    back = agent.reconcile_once()
    assert (back.result, back.revision) == ("applied", second_sha)
    assert not agent.status.degraded
    assert live_price(target) == 2


def test_force_push_that_rewrites_history(
    tmp_path: Path, target: EmbeddedTarget, repo: WorkRepo
) -> None:
    base = repo.commit("base", {"apps/a.yaml": app_yaml("a", price=1)})
    repo.commit("two", {"apps/a.yaml": app_yaml("a", price=2)})
    bare = repo.bare_clone(tmp_path / "remote.git")
    agent = make_agent(SourceSpec(bare.as_uri(), ref="main"), target, tmp_path)
    assert agent.reconcile_once().result == "applied"
    assert live_price(target) == 2

    git(repo.path, "reset", "--quiet", "--hard", base)
    rewritten = repo.commit("rewritten", {"apps/a.yaml": app_yaml("a", price=7)})
    git(repo.path, "push", "--quiet", "--force", bare.as_uri(), "main")
    after = agent.reconcile_once()
    assert (after.result, after.revision) == ("applied", rewritten)
    assert live_price(target) == 7
    assert agent.reconcile_once().result == "in-sync"


def test_a_plan_removing_every_application_is_refused(
    tmp_path: Path, target: EmbeddedTarget
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.yaml").write_text(app_yaml("a"))
    agent = make_agent(SourceSpec(str(src)), target, tmp_path, policy=PrunePolicy())
    applied = agent.reconcile_once()
    (src / "a.yaml").write_text("proxy_location: HeadOnly\napplications: []\n")
    refused = agent.reconcile_once()
    assert refused.result == "prune-refused"
    assert refused.error is not None
    assert refused.error.startswith(
        'refusing to apply the plan: it would remove every application ("a")'
    )
    assert target.live("default", "default").generation == applied.generation


def test_status_json_names_source_revisions_and_result(
    tmp_path: Path, target: EmbeddedTarget, repo: WorkRepo
) -> None:
    sha = repo.commit("one", {"apps/a.yaml": app_yaml("a")})
    agent = make_agent(SourceSpec(str(repo.path), ref="main"), target, tmp_path, interval_s=60)
    agent.reconcile_once(("startup",))
    data = json.loads(json.dumps(agent.status.to_json()))
    assert data["source"] == {
        "kind": "git",
        "location": str(repo.path),
        "ref": "main",
        "subpath": "",
    }
    assert data["revisions"] == {"attempted": sha, "applied": sha}
    assert data["lastSync"]["result"] == "applied"
    assert data["lastSync"]["reasons"] == ["startup"]
    assert data["lastSync"]["error"] is None
    assert data["drift"]["detected"] is False
    assert data["degraded"] is False


def test_remote_cache_is_not_refetched_when_the_ref_has_not_moved(
    tmp_path: Path, target: EmbeddedTarget, repo: WorkRepo
) -> None:
    repo.commit("one", {"apps/a.yaml": app_yaml("a")})
    bare = repo.bare_clone(tmp_path / "remote.git")
    agent = make_agent(SourceSpec(bare.as_uri(), ref="main"), target, tmp_path)
    for _ in range(3):
        agent.reconcile_once()
    fetches = agent.metrics.git_requests.labels("fetch", "success")._value.get()
    checks = agent.metrics.git_requests.labels("ls-remote", "success")._value.get()
    assert (fetches, checks) == (1, 3)


TYPO = "name: a\nroute_prefx: /a\nimport_path: shop:app\n"


def test_an_unknown_key_is_refused_by_default(tmp_path: Path, target: EmbeddedTarget) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.yaml").write_text(TYPO)
    outcome = make_agent(SourceSpec(str(src)), target, tmp_path).reconcile_once()
    assert outcome.result == "invalid"
    assert "unknown key 'route_prefx'; did you mean 'route_prefix'?" in (outcome.error or "")
    assert target.live("default", "default").generation == 0


def test_relaxed_unknown_keys_are_applied_with_their_warnings_logged_and_reported(
    tmp_path: Path, target: EmbeddedTarget, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.yaml").write_text(TYPO)
    (src / ".gitsync.yaml").write_text("validate:\n  unknown_keys: warn\n")
    agent = make_agent(SourceSpec(str(src)), target, tmp_path)
    with caplog.at_level("WARNING", logger="gitsync.agent"):
        outcome = agent.reconcile_once()
    assert outcome.result == "applied"
    warning = (
        "a.yaml:2:1: warning: route_prefx: unknown key 'route_prefx': Ray ignores it, so it has "
        "no effect; did you mean 'route_prefix'?"
    )
    assert outcome.warnings == (warning,)
    assert agent.status.to_json()["lastSync"]["warnings"] == [warning]
    assert any(warning in record.getMessage() for record in caplog.records)
    # The dropped key is not part of what is live, so it never shows as a change.
    assert agent.reconcile_once().result == "in-sync"
