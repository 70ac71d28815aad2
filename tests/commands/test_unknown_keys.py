"""Unknown keys from the operator's side: a typo never deploys silently; relaxed, every
warning shows where the operator looks, and a key Ray drops is never a plan change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.testing.tools import gitsync_command, run_gitsync
from tests.testing.wait import answers, free_port, wait_until

FRUIT = "serve/apps/fruit.yaml"


def _typo(repo: Path) -> None:
    path = repo / FRUIT
    path.write_text(path.read_text().replace("route_prefix: /fruit", "route_prefx: /fruit"))


def test_sync_refuses_a_typo_with_a_did_you_mean(config_repo: Path, tmp_path: Path) -> None:
    _typo(config_repo)
    state = ["--state-dir", str(tmp_path / "state")]
    refused = run_gitsync("sync", str(config_repo), *state)
    assert refused.returncode == 3, refused.stdout
    assert "unknown key 'route_prefx'; did you mean 'route_prefix'?" in refused.stderr
    assert json.loads(run_gitsync("history", *state, "-o", "json").stdout) == []


def test_relaxed_warnings_show_in_sync_diff_and_status(config_repo: Path, tmp_path: Path) -> None:
    _typo(config_repo)
    state = ["--state-dir", str(tmp_path / "state")]
    synced = run_gitsync("sync", str(config_repo), *state, "--unknown-keys", "warn")
    assert synced.returncode == 0, synced.stderr
    warning = "unknown key 'route_prefx': Ray ignores it, so it has no effect"
    assert warning in synced.stderr

    diff = run_gitsync("diff", str(config_repo), *state, "--unknown-keys", "warn")
    assert (diff.returncode, diff.stdout.strip()) == (0, "No changes."), diff.stderr
    assert warning in diff.stderr

    # A key Ray drops is never a change: today a num_replica typo was a "restart".
    path = config_repo / FRUIT
    path.write_text(
        path.read_text().replace("OrangeStand\n", "OrangeStand\n    num_replica: 3\n", 1)
    )
    again = run_gitsync("diff", str(config_repo), *state, "--unknown-keys", "warn", "-o", "json")
    assert again.returncode == 0, again.stdout
    report = json.loads(again.stdout)
    assert any(
        "num_replica" in line and "did you mean 'num_replicas'?" in line
        for line in report["warnings"]
    )

    status = run_gitsync("status", *state, "-o", "json")
    assert any(warning in line for line in json.loads(status.stdout)["warnings"])
    text = run_gitsync("status", *state)
    assert warning in text.stdout


def test_the_repository_setting_relaxes_it_too(config_repo: Path, tmp_path: Path) -> None:
    _typo(config_repo)
    (config_repo / ".gitsync.yaml").write_text("validate:\n  unknown_keys: warn\n")
    synced = run_gitsync("sync", str(config_repo), "--state-dir", str(tmp_path / "state"))
    assert synced.returncode == 0, synced.stderr
    assert "did you mean 'route_prefix'?" in synced.stderr


SERVE_BODY = {
    "applications": [
        {
            "name": "a",
            "route_prefix": "/a",
            "import_path": "m:app",
            "deployments": [{"name": "D", "num_replica": 2}],
        }
    ]
}


def test_the_serve_api_keeps_rays_contract_and_records_the_warning(engine_server: str) -> None:
    put = httpx.put(f"{engine_server}/api/serve/applications/", json=SERVE_BODY, timeout=30)
    assert put.status_code == 200, put.text
    status = run_gitsync("status", "--engine", engine_server, "-o", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["warnings"] == [
        "serve-api.yaml:7:11: warning: applications[0].deployments[0].num_replica: unknown key "
        "'num_replica': Ray ignores it, so it has no effect; did you mean 'num_replicas'?"
    ]


def test_an_engine_run_with_unknown_keys_error_refuses_them(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["engine", "--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp_path / "s")]
    proc = subprocess.Popen(
        gitsync_command(*args, "--unknown-keys", "error"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: answers(url + "/state/v1/health"), "the engine to answer")
        put = httpx.put(f"{url}/api/serve/applications/", json=SERVE_BODY, timeout=30)
        assert put.status_code == 400
        assert "unknown key 'num_replica'; did you mean 'num_replicas'?" in put.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
