"""diff, sync, status, history and rollback — each run against an embedded engine
(``--state-dir``) and a real remote one (``--engine URL``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.testing.tools import run_gitsync


@pytest.fixture(params=["embedded", "remote"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "embedded":
        return ["--state-dir", str(tmp_path / "state")]
    url: str = request.getfixturevalue("engine_server")
    return ["--engine", url]


def _set_price(repo: Path, price: int) -> None:
    path = repo / "serve/apps/fruit.yaml"
    text = path.read_text()
    path.write_text(text.replace("      price: 3\n", f"      price: {price}\n", 1))


def test_diff_sync_diff_status_history_rollback(config_repo: Path, target: list[str]) -> None:
    first = run_gitsync("diff", str(config_repo), *target)
    if target[0] == "--state-dir":  # diff never creates a state directory
        assert first.returncode == 2, first.stderr
        assert f"no engine state at {target[1]}" in first.stderr
        assert not Path(target[1]).exists()
    else:
        assert first.returncode == 1, first.stderr
        assert '+ create application "calculator"' in first.stdout
        assert '+ create application "fruit_stand"' in first.stdout
        assert "Plan: 2 to create" in first.stdout

    synced = run_gitsync("sync", str(config_repo), *target)
    assert synced.returncode == 0, synced.stderr
    assert '+ create application "fruit_stand"' in synced.stdout
    assert "as generation 2." in synced.stdout

    again = run_gitsync("diff", str(config_repo), *target)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip() == "No changes."

    _set_price(config_repo, 5)
    changed = run_gitsync("diff", str(config_repo), *target)
    assert changed.returncode == 1
    assert (
        '~ update "fruit_stand": deployments.MangoStand.user_config.price 3 → 5 (reconfigure, in place)'
        in changed.stdout
    )
    assert "Plan: 0 to create, 1 to update, 0 to delete." in changed.stdout

    as_json = run_gitsync("diff", str(config_repo), *target, "--output", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["liveGeneration"] == 2

    assert run_gitsync("sync", str(config_repo), *target).returncode == 0

    status = run_gitsync("status", *target, "--source", str(config_repo), "-o", "json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert state["generation"] == 3
    assert {a["name"]: a["status"] for a in state["applications"]} == {
        "calculator": "RUNNING",
        "fruit_stand": "RUNNING",
    }
    assert state["source"]["inSync"] is True
    assert state["lastAppliedRevision"] == state["source"]["revision"]

    history = json.loads(run_gitsync("history", *target, "-o", "json").stdout)
    assert [h["generation"] for h in history] == [3, 2]

    rolled = run_gitsync("rollback", *target)
    assert rolled.returncode == 0, rolled.stderr
    assert "now active as generation 4" in rolled.stdout
    back = run_gitsync("diff", str(config_repo), *target)
    assert "user_config.price 3 → 5" in back.stdout


def test_invalid_source_is_an_error_and_applies_nothing(
    config_repo: Path, target: list[str]
) -> None:
    (config_repo / "serve/apps/bad.yaml").write_text(
        "name: bad\nroute_prefix: nope\nimport_path: a:b\n"
    )
    result = run_gitsync("sync", str(config_repo), *target)
    assert result.returncode == 3
    assert (
        "serve/apps/bad.yaml:2:15: error: route_prefix: route_prefix must start with '/'"
        in result.stderr
    )
    assert json.loads(run_gitsync("history", *target, "-o", "json").stdout) == []
    assert run_gitsync("diff", str(config_repo), *target).returncode == 3


def test_prune_safety(config_repo: Path, target: list[str]) -> None:
    assert run_gitsync("sync", str(config_repo), *target).returncode == 0
    (config_repo / "serve/apps/calculator.yaml").unlink()
    refused = run_gitsync("sync", str(config_repo), *target, "--max-prune", "0.4")
    assert refused.returncode == 4
    assert (
        'it would remove 1 of 2 applications (50% > --max-prune 40%): "calculator"'
        in refused.stderr
    )

    kept = run_gitsync("sync", str(config_repo), *target, "--no-prune")
    assert kept.returncode == 0, kept.stderr
    status = json.loads(run_gitsync("status", *target, "-o", "json").stdout)
    assert sorted(a["name"] for a in status["applications"]) == ["calculator", "fruit_stand"]

    pruned = run_gitsync("sync", str(config_repo), *target)
    assert pruned.returncode == 0, pruned.stderr
    assert '- delete "calculator"' in pruned.stdout
    (config_repo / "serve/apps/fruit.yaml").unlink()
    (config_repo / "serve/apps/empty.yaml").write_text("applications: []\n")
    everything = run_gitsync("sync", str(config_repo), *target)
    assert everything.returncode == 4
    assert 'it would remove every application ("fruit_stand")' in everything.stderr
    allowed = run_gitsync("sync", str(config_repo), *target, "--allow-mass-prune")
    assert allowed.returncode == 0, allowed.stderr


def test_settings_choose_the_config_files_and_yaml_in_code_is_not_config(
    config_repo: Path, target: list[str]
) -> None:
    (config_repo / "fruit/model.yaml").write_text("weights: [1, 2\n")  # not a Serve config
    invalid = run_gitsync("sync", str(config_repo), *target)
    assert invalid.returncode == 3
    assert "fruit/model.yaml:2:1: error: $: invalid YAML" in invalid.stderr

    (config_repo / ".gitsync.yaml").write_text("config:\n  root: serve\n")
    synced = run_gitsync("sync", str(config_repo), *target)
    assert synced.returncode == 0, synced.stderr
    status = json.loads(run_gitsync("status", *target, "-o", "json").stdout)
    assert sorted(a["name"] for a in status["applications"]) == ["calculator", "fruit_stand"]
