"""The small facts the pages derive: who deployed a generation, health, sync state,
findings, and masking in the files view. Plain values in, plain values out."""

from __future__ import annotations

from gitsync.api.ui import facts
from gitsync.api.ui.filemask import masked_text
from gitsync.engine.records import AppId, AppLive, HistoryEntry

UNIT = AppId("default")


def entry(kind: str = "deploy", revision: str = "", **meta: str) -> HistoryEntry:
    return HistoryEntry(UNIT, 3, 3, 0.0, kind, revision, meta, {})


def app(status: str) -> AppLive:
    return AppLive("a", "/a", status, "", 0.0, {}, [])


def test_who_deployed_a_generation() -> None:
    sha = "a" * 40
    assert facts.deployed_by(entry(revision=sha, sha=sha, author="A")) == "git"
    assert facts.deployed_by(entry(revision=sha, sha=sha, via="push")) == "push"
    assert facts.deployed_by(entry(revision="dir:abc", source="/srv/conf")) == "directory"
    assert facts.deployed_by(entry(revision="f" * 64, via="Serve REST")) == "Serve REST"
    assert facts.deployed_by(entry(revision="f" * 64, via="Vespa API")) == "Vespa API"
    assert facts.deployed_by(entry(revision="f" * 64, source="scale")) == "scale"
    assert facts.deployed_by(entry("rollback", sha, via="push")) == "rollback"


def test_health_is_the_worst_application_status() -> None:
    assert facts.unit_health("none", [app("RUNNING")]) == "no runtime"
    assert facts.unit_health("ray", [app("RUNNING"), app("DEPLOYING")]) == "DEPLOYING"
    assert facts.unit_health("ray", [app("UNHEALTHY"), app("DEPLOY_FAILED")]) == "DEPLOY_FAILED"
    assert facts.unit_health("ray", [app("RUNNING")]) == "RUNNING"


def test_sync_state_from_the_agents_status() -> None:
    applied = {"lastSync": {"result": "applied", "ok": True}, "drift": {}}
    assert facts.sync_state(applied, []) == "in sync"
    assert facts.sync_state(applied, ["fruit: num_replicas 2 -> 3"]) == "out of sync"
    assert facts.sync_state({**applied, "drift": {"detected": True}}, []) == "out of sync"
    assert facts.sync_state({**applied, "degraded": True}, []) == "degraded"
    invalid = {"lastSync": {"result": "invalid", "ok": False}}
    assert facts.sync_state(invalid, []) == "failed"
    assert facts.sync_state(None, []) == "unknown"


def test_findings_are_the_file_line_col_lines_of_an_error() -> None:
    error = (
        "Invalid application package:\n"
        "serve/a.yaml:3:5: error: applications[0].name: required\n"
        "serve/b.yaml:10:1: error: x: bad"
    )
    assert facts.findings(error) == [
        {
            "where": "serve/a.yaml:3:5",
            "severity": "error",
            "rest": "applications[0].name: required",
        },
        {"where": "serve/b.yaml:10:1", "severity": "error", "rest": "x: bad"},
    ]
    assert facts.findings(None) == []


def test_files_view_masks_what_plans_mask() -> None:
    yaml = (
        b"runtime_env:\n"
        b"  env_vars:\n"
        b"    DB_URL: postgres://u:pw@db/x\n"
        b"    MODE: fast\n"
        b"  pip: [torch]\n"
        b"user_config: {api_key: zzz, price: 2}\n"
        b"args:\n"
        b"  password: hunter2\n"
        b"  repo: https://user:tok@example.com/r.git\n"
    )
    shown = masked_text("serve/app.yaml", yaml, 10_000)
    for secret in ("pw@", "fast", "zzz", "hunter2", "tok@"):
        assert secret not in shown, shown
    assert "pip: [torch]" in shown and "https://***@example.com/r.git" in shown
    as_json = b'{\n  "env_vars": {\n    "A": "b",\n    "C": "d"\n  },\n  "k": 1\n}'
    assert masked_text("serve-api.yaml", as_json, 10_000) == (
        '{\n  "env_vars": {\n    "A": "***",\n    "C": "***"\n  },\n  "k": 1\n}'
    )
    assert masked_text("x.bin", b"\xff\xfe", 10_000) == "(binary file, 2 bytes)"
    assert masked_text("big.yaml", b"a" * 11, 10) == "(11 bytes: too large to show here)"
