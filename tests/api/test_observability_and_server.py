"""/metrics, the access log, and ``gitsync engine`` as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from gitsync.api.accesslog import AccessLog, AccessRecord
from gitsync.api.address import ListenAddress, check_bind, parse_listen
from gitsync.config import package
from gitsync.errors import BadRequest
from tests.testing.api import LiveServer, run_server
from tests.testing.configs import package_files
from tests.testing.tools import gitsync_command
from tests.testing.wait import answers, free_port, wait_until

V2 = "/application/v2/tenant/default"
ZIP = {"Content-Type": "application/zip"}


def test_metrics(live: LiveServer, http: httpx.Client, zip_package: bytes) -> None:
    http.post(f"{V2}/prepareandactivate", content=zip_package, headers=ZIP)
    http.put("/api/serve/applications/", json={"applications": [{"name": "x"}]})
    http.get(f"{V2}/session/9/prepared")
    text = http.get("/metrics").text
    assert (
        'gitsync_http_requests_total{method="POST",'
        'route="/application/v2/tenant/{tenant}/prepareandactivate",status="200"} 1.0'
    ) in text
    assert (
        'gitsync_http_requests_total{method="GET",'
        'route="/application/v2/tenant/{tenant}/session/{session_id}/prepared",status="404"} 1.0'
    ) in text
    assert "gitsync_http_request_duration_seconds_bucket{" in text
    assert 'gitsync_activations_total{result="activated"} 1.0' in text
    assert 'gitsync_activations_total{result="invalid"} 1.0' in text
    assert (
        'gitsync_active_generation{application="default",instance="default",tenant="default"} 2.0'
    ) in text
    assert 'gitsync_sessions{state="ACTIVE",tenant="default"} 1.0' in text


def test_access_log(live: LiveServer, http: httpx.Client) -> None:
    http.get(f"{V2}/application/", headers={"User-Agent": "Vespa CLI/8.763.13"})
    http.get("/api/serve/applications/")  # not a Deploy API request: not logged
    lines = (live.state_dir / "logs" / "access-json.log").read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["ip"] == "127.0.0.1"
    assert entry["method"] == "GET"
    assert entry["uri"] == f"{V2}/application/"
    assert entry["version"] == "HTTP/1.1"
    assert entry["code"] == 200
    assert entry["responsesize"] == 2
    assert entry["agent"] == "Vespa CLI/8.763.13"
    assert entry["duration"] >= 0 and entry["time"] > 1e9


def test_access_log_rotates_by_size(tmp_path: Path) -> None:
    log = AccessLog(tmp_path / "access-json.log", max_bytes=400, backups=2)
    record = AccessRecord("127.0.0.1", 1, 1.0, "GET", "/x", "HTTP/1.1", 200, 0, 2, "a", "h", 1, 0.1)
    for _ in range(10):
        log.write(record)
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "access-json.log",
        "access-json.log.1",
        "access-json.log.2",
    ]


def test_listen_parsing_and_bind_rule() -> None:
    assert parse_listen("127.0.0.1:8080") == ListenAddress("127.0.0.1", 8080)
    assert parse_listen("[::1]:9") == ListenAddress("::1", 9)
    assert parse_listen("9000") == ListenAddress("127.0.0.1", 9000)
    with pytest.raises(BadRequest, match="Invalid listen address 'nope'"):
        parse_listen("nope")
    with pytest.raises(BadRequest) as caught:
        check_bind(ListenAddress("0.0.0.0", 80), None)
    assert caught.value.message == (
        "Refusing to listen on non-loopback address 0.0.0.0:80 without a token: "
        "pass --token or set GITSYNC_TOKEN"
    )
    check_bind(ListenAddress("0.0.0.0", 80), "t")
    check_bind(ListenAddress("::1", 80), None)


def _gitsync(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        gitsync_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    """Ctrl-C as from a terminal: a suite run as a background job of a non-interactive
    shell ignores SIGINT, and a child would inherit that (uvicorn then stops on it but
    its re-raise of the signal is ignored, and the exit status is 0, not 130)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_engine_command_serves_and_stops(tmp_path: Path) -> None:
    port = free_port()
    proc = _gitsync(
        "engine",
        "--listen",
        f"127.0.0.1:{port}",
        "--state-dir",
        str(tmp_path / "s"),
        env={"GITSYNC_TOKEN": "tok"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        # Health answers without the token; every other route needs it.
        wait_until(
            lambda: answers(url + "/state/v1/health") or proc.poll() is not None, "the engine"
        )
        assert proc.poll() is None
        body = package.build_zip(package_files(("a", "/a")))
        denied = httpx.post(f"{url}{V2}/prepareandactivate", content=body, headers=ZIP)
        assert denied.status_code == 401
        allowed = httpx.post(
            f"{url}{V2}/prepareandactivate",
            content=body,
            headers={**ZIP, "Authorization": "Bearer tok"},
        )
        assert allowed.status_code == 200
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130  # uvicorn shuts down, then re-raises the Ctrl-C
    assert f"gitsync engine serving http://127.0.0.1:{port}" in err
    assert "tok" not in err.replace("token", "")


def test_engine_command_refuses_public_bind_without_token(tmp_path: Path) -> None:
    proc = _gitsync("engine", "--listen", "0.0.0.0:0", "--state-dir", str(tmp_path / "s"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "Refusing to listen on non-loopback address 0.0.0.0:0 without a token" in err


def test_state_dir_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with run_server(tmp_path / "s"):
        proc = _gitsync("engine", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "s"))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "is in use by another gitsync engine" in err
