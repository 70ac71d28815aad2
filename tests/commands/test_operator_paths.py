"""The operator's path: state directories, a running agent beside the commands, and
errors a person can act on."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.testing.tools import gitsync_command, run_gitsync
from tests.testing.wait import free_port as _free_port


@pytest.mark.parametrize("command", ["status", "history", "diff"])
def test_read_only_commands_never_create_a_state_directory(
    command: str, config_repo: Path, tmp_path: Path
) -> None:
    args = [command, *([str(config_repo)] if command == "diff" else [])]
    result = run_gitsync(*args, "--state-dir", ".gitsycn", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("gitsync: error: no engine state at .gitsycn")
    assert not (tmp_path / ".gitsycn").exists()


def test_json_output_makes_errors_json(tmp_path: Path) -> None:
    result = run_gitsync("history", "--state-dir", "nope", "-o", "json", cwd=tmp_path)
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["error-code"] == "NOT_FOUND"
    assert error["message"].startswith("no engine state at nope")
    assert error["exitCode"] == 2


def test_invalid_config_errors_in_json_carry_the_issues(config_repo: Path, tmp_path: Path) -> None:
    (config_repo / "serve/apps/bad.yaml").write_text("name: b\nroute_prefix: b\nimport_path: a:b\n")
    result = run_gitsync("sync", str(config_repo), "--state-dir", str(tmp_path / "s"), "-o", "json")
    assert result.returncode == 3
    error = json.loads(result.stdout)
    assert error["error-code"] == "INVALID_APPLICATION_PACKAGE"
    assert [i["file"] for i in error["issues"]] == ["serve/apps/bad.yaml"]


def test_no_config_files_names_the_directory_and_patterns(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_gitsync("sync", "empty", "--state-dir", "s", cwd=tmp_path)
    assert result.returncode == 3
    assert (
        "error: no config files found in empty (looked for *.yaml, *.yml outside hidden "
        "directories;" in result.stderr
    )


def test_an_unreachable_engine_names_the_url_and_what_to_start(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = run_gitsync("status", "--engine", url, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"gitsync: error: cannot reach the engine at {url} (")
    assert "gitsync engine --listen HOST:PORT" in result.stderr


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_gitsync("engine", "--listen", f"127.0.0.1:{port}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"gitsync: error: port {port} on 127.0.0.1 is already in use (another gitsync engine or "
        "agent?): stop it, or pick another port with --listen HOST:PORT\n"
    )


@pytest.fixture
def agent(config_repo: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """``gitsync agent`` on the example repository, state in ./.gitsync of tmp_path."""
    log = (tmp_path / "agent.log").open("w")
    proc = subprocess.Popen(
        gitsync_command("agent", str(config_repo), "--listen", "127.0.0.1:0", "--interval", "3600"),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = tmp_path / ".gitsync" / "api.json"
    try:
        deadline = time.monotonic() + 60
        while not served.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "agent.log").read_text()
            time.sleep(0.05)
        url = json.loads(served.read_text())["url"]
        while time.monotonic() < deadline:
            status = httpx.get(f"{url}/api/gitsync/status", timeout=5).json()
            if status["lastSync"] and status["lastSync"]["result"] == "applied":
                break
            time.sleep(0.05)
        yield tmp_path, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_commands_use_the_api_of_the_agent_holding_the_state_directory(
    agent: tuple[Path, str], config_repo: Path
) -> None:
    cwd, url = agent
    status = run_gitsync("status", "-o", "json", cwd=cwd)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["generation"] == 2
    assert run_gitsync("history", cwd=cwd).returncode == 0
    assert run_gitsync("diff", str(config_repo), cwd=cwd).stdout.strip() == "No changes."
    # GITSYNC_ENGINE stands for --engine, from anywhere.
    elsewhere = cwd / "elsewhere"
    elsewhere.mkdir()
    by_env = run_gitsync("status", "-o", "json", cwd=elsewhere, env={"GITSYNC_ENGINE": url})
    assert json.loads(by_env.stdout)["generation"] == 2
    assert not (elsewhere / ".gitsync").exists()


def test_rollback_prints_the_plan_and_the_generation_it_copied(
    config_repo: Path, tmp_path: Path
) -> None:
    state = ["--state-dir", str(tmp_path / "s")]
    assert run_gitsync("sync", str(config_repo), *state).returncode == 0
    fruit = config_repo / "serve/apps/fruit.yaml"
    fruit.write_text(fruit.read_text().replace("price: 3", "price: 5"))
    assert run_gitsync("sync", str(config_repo), *state).returncode == 0
    rolled = run_gitsync("rollback", *state)
    assert rolled.returncode == 0, rolled.stderr
    lines = rolled.stdout.splitlines()
    assert (
        '~ update "fruit_stand": deployments.MangoStand.user_config.price 5 → 3 '
        "(reconfigure, in place)" in lines
    )
    assert lines[-1].startswith("Rolled back to generation 2 (revision ")
    assert lines[-1].endswith(": now active as generation 4 (was 3).")
    as_json = json.loads(run_gitsync("rollback", *state, "3", "-o", "json").stdout)
    assert as_json["rolledBackTo"] == 3
    assert as_json["generation"] == 5
    assert as_json["plan"]["summary"]["update"] == 1
