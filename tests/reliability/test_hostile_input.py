"""Hostile input: each is refused by a real engine (or agent) with a
clear error, and nothing is written: no session, no activation, no live change."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from gitsync.config import package
from tests.reliability.hostile_inputs import (
    DUPLICATE_KEYS,
    INVALID_UTF8,
    alias_bomb,
    deep_nesting,
    entry_bomb,
    huge_scalar,
    tar_bomb,
    tar_gz_of,
    tar_member,
    zip_bomb,
    zip_of,
)
from tests.testing.agent import AgentProcess
from tests.testing.engine import EngineProcess
from tests.testing.wait import wait_until

TOKEN = "hostile-suite-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REG = stat.S_IFREG | 0o644
GOOD = b"applications:\n  - name: good\n    route_prefix: /good\n    import_path: m:app\n"
ZIP = {"Content-Type": "application/zip", **AUTH}
TGZ = {"Content-Type": "application/x-gzip", **AUTH}
V2 = "/application/v2/tenant/default"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    root = tmp_path_factory.mktemp("hostile")
    server = EngineProcess(root / "state", root / "engine.log", token=TOKEN).start()
    response = httpx.post(
        server.url + V2 + "/prepareandactivate",
        content=package.build_zip({"serve.yaml": GOOD}),
        headers=ZIP,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    try:
        yield server
    finally:
        server.stop()


def footprint(state: Path, *, blobs: bool) -> tuple[int, ...]:
    """Rows that any write would add; blobs of a package that failed at prepare stay
    until session expiry, so they are counted only for refusals before a session."""
    db = sqlite3.connect(f"file:{state / 'engine.sqlite3'}?mode=ro", uri=True)
    try:
        tables = ["sessions", "session_files", "applications", "serve_apps", "history"]
        tables += ["history_files", "tenants"] + (["blobs"] if blobs else [])
        counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables]
        counts.append(db.execute("SELECT MAX(session_id) FROM applications").fetchone()[0])
        return tuple(counts)
    finally:
        db.close()


def refused(
    engine: EngineProcess,
    method: str,
    path: str,
    *,
    status: int,
    message: str,
    blobs: bool = True,
    **kwargs: Any,  # httpx.request's own keywords
) -> httpx.Response:
    before = footprint(engine.state_dir, blobs=blobs)
    response = httpx.request(method, engine.url + path, timeout=120, **kwargs)
    assert response.status_code == status, response.text
    body = (
        response.json() if response.headers["content-type"].startswith("application/json") else None
    )
    text = body["message"] if body else response.text
    assert message in text, text
    assert footprint(engine.state_dir, blobs=blobs) == before
    return response


ARCHIVES = {
    "zip slip": (
        zip_of([("../evil.yaml", GOOD, REG)]),
        "application/zip",
        "Unsafe path in package: '../evil.yaml' contains '..'",
    ),
    "zip absolute path": (
        zip_of([("/etc/cron.d/evil", GOOD, REG)]),
        "application/zip",
        "Unsafe path in package: '/etc/cron.d/evil' is absolute",
    ),
    "tar slip": (
        tar_gz_of([tar_member("a/../../evil.yaml", size=len(GOOD))], {"a/../../evil.yaml": GOOD}),
        "application/x-gzip",
        "Unsafe path in package: 'a/../../evil.yaml' contains '..'",
    ),
    "tar absolute path": (
        tar_gz_of([tar_member("/tmp/evil.yaml", size=len(GOOD))], {"/tmp/evil.yaml": GOOD}),
        "application/x-gzip",
        "Unsafe path in package: '/tmp/evil.yaml' is absolute",
    ),
    "zip symlink": (
        zip_of([("serve.yaml", GOOD, REG), ("link", b"/etc/passwd", stat.S_IFLNK | 0o777)]),
        "application/zip",
        "Package entry 'link' is a symbolic link",
    ),
    "tar symlink": (
        tar_gz_of([tar_member("link", tarfile.SYMTYPE, link="/etc/passwd")]),
        "application/x-gzip",
        "Package entry 'link' is a symbolic link",
    ),
    "tar hard link": (
        tar_gz_of([tar_member("link", tarfile.LNKTYPE, link="/etc/shadow")]),
        "application/x-gzip",
        "Package entry 'link' is a hard link",
    ),
    "tar device file": (
        tar_gz_of([tar_member("dev", tarfile.CHRTYPE)]),
        "application/x-gzip",
        "Package entry 'dev' is not a regular file",
    ),
    "too many entries": (entry_bomb(), "application/zip", "ZIP has more than 10000 entries"),
}


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_hostile_archives_are_refused_before_any_write(engine: EngineProcess, name: str) -> None:
    body, content_type, message = ARCHIVES[name]
    headers = {"Content-Type": content_type, **AUTH}
    for path in (V2 + "/session", V2 + "/prepareandactivate"):
        refused(engine, "POST", path, status=400, message=message, content=body, headers=headers)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "content_type", "message"),
    [
        (zip_bomb, "application/zip", "Total size of ZIP exceeds size limit of 268435456 bytes"),
        (tar_bomb, "application/x-gzip", "Total size of TAR exceeds size limit of 268435456 bytes"),
    ],
    ids=["zip bomb", "tar bomb"],
)
def test_decompression_bombs_stop_at_the_cap(
    engine: EngineProcess, build: Callable[[], bytes], content_type: str, message: str
) -> None:
    body = build()
    assert len(body) < 2 * 1024 * 1024  # small on the wire, 300 MiB inflated
    headers = {"Content-Type": content_type, **AUTH}
    refused(
        engine,
        "POST",
        V2 + "/prepareandactivate",
        status=400,
        message=message,
        content=body,
        headers=headers,
    )


YAML = {
    "alias bomb": (
        alias_bomb(),
        "serve.yaml:8:8: error: $: document expands to more than 10000000 nodes (alias bomb?)",
    ),
    "deep nesting": (deep_nesting(), "nesting deeper than 64 levels"),
    "huge scalar": (
        huge_scalar(),
        "serve.yaml:0:0: error: $: file is 68157464 bytes; the limit is 67108864",
    ),
    "invalid UTF-8": (INVALID_UTF8, "serve.yaml:2:14: error: $: file is not valid UTF-8 (byte 27)"),
    "duplicate keys": (DUPLICATE_KEYS, "duplicate key 'name' (first defined at line 2, column 5)"),
}


@pytest.mark.parametrize("name", sorted(YAML))
def test_hostile_yaml_is_refused_and_the_live_generation_stays(
    engine: EngineProcess, name: str
) -> None:
    text, message = YAML[name]
    body = package.build_zip({"serve.yaml": text})
    response = refused(
        engine,
        "POST",
        V2 + "/prepareandactivate",
        status=400,
        message=message,
        blobs=False,
        content=body,
        headers=ZIP,
    )
    assert response.json()["error-code"] == "INVALID_APPLICATION_PACKAGE"


def test_traversal_in_content_paths_is_refused(engine: EngineProcess) -> None:
    created = httpx.post(
        engine.url + V2 + "/session",
        content=package.build_zip({"serve.yaml": GOOD}),
        headers=ZIP,
        timeout=60,
    )
    assert created.status_code == 200, created.text
    sid = created.json()["session-id"]
    for raw in ("%2e%2e/%2e%2e/etc/passwd", "a/%2e%2e/%2e%2e/x", "a//b"):
        path = f"{V2}/session/{sid}/content/{raw}"
        shown = raw.replace("%2e", ".")
        message = f"Illegal path '{shown}': '..', '.' and empty segments are not allowed"
        refused(engine, "PUT", path, status=400, message=message, content=b"x", headers=AUTH)
        refused(engine, "GET", path, status=400, message=message, headers=AUTH)


@pytest.mark.parametrize("bad", ["bad.name", "a b", "x@y", "a*b", "caf%C3%A9", "semi;colon"])
def test_names_outside_the_allowed_characters_are_refused(engine: EngineProcess, bad: str) -> None:
    shown = unquote(bad)
    message = f"tenant name must match '[a-zA-Z0-9_-]{{1,256}}', but got: '{shown}'"
    refused(
        engine, "PUT", f"/application/v2/tenant/{bad}", status=400, message=message, headers=AUTH
    )
    body = package.build_zip({"serve.yaml": GOOD})
    message = f"application name must match '[a-zA-Z0-9_-]{{1,256}}', but got: '{shown}'"
    refused(
        engine,
        "POST",
        f"{V2}/prepareandactivate?applicationName={bad}",
        status=400,
        message=message,
        content=body,
        headers=ZIP,
    )


MUTATING = [
    ("POST", V2 + "/prepareandactivate"),
    ("POST", V2 + "/session"),
    ("PUT", V2 + "/session/2/active"),
    ("PUT", "/application/v2/tenant/other"),
    ("DELETE", V2 + "/application/default"),
    ("PUT", "/api/serve/applications/"),
    ("DELETE", "/api/serve/applications/"),
    ("POST", "/api/gitsync/v1/tenant/default/application/default/deploy"),
    ("POST", "/api/gitsync/v1/tenant/default/application/default/rollback"),
]


@pytest.mark.parametrize(("method", "path"), MUTATING)
def test_mutating_routes_need_the_right_token(
    engine: EngineProcess, method: str, path: str
) -> None:
    body = package.build_zip({"serve.yaml": GOOD})
    headers = {"Content-Type": "application/zip"}
    missing = "Missing 'Authorization: Bearer <token>' header"
    refused(engine, method, path, status=401, message=missing, content=body, headers=headers)
    for wrong in ("Bearer nope", "Bearer " + TOKEN + "x", "Basic " + TOKEN, TOKEN):
        refused(
            engine,
            method,
            path,
            status=403,
            message="Invalid token",
            content=body,
            headers={**headers, "Authorization": wrong},
        )


# -- the agent: webhook and a working_dir symlink ------------------------------------------

SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    root = tmp_path_factory.mktemp("hostile-agent")
    source = root / "src"
    source.mkdir()
    (source / "serve.yaml").write_bytes(GOOD)
    args = [str(source), "--interval", "3600", "--webhook-secret", SECRET]
    process = AgentProcess(args, root / "state", root / "agent.log")
    wait_until(lambda: (s := process.status())["generation"] and s, "the first sync")
    try:
        yield process
    finally:
        process.kill()


def _agent_history(agent: AgentProcess) -> list[object]:
    url = agent.published_url()
    assert url is not None
    data: list[object] = httpx.get(
        url + "/api/gitsync/v1/tenant/default/application/default/history", timeout=30
    ).json()
    return data


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("oversized", 413, "webhook body is larger than 3145728 bytes"),
        ("bad signature", 401, "webhook signature does not match"),
        (
            "no signature",
            401,
            "webhook signature missing: expected X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token",
        ),
        ("wrong scheme", 401, "webhook signature does not match"),
        ("wrong gitlab token", 401, "webhook token does not match"),
    ],
)
def test_bad_webhooks_are_refused_and_trigger_nothing(
    agent: AgentProcess, case: str, status: int, message: str
) -> None:
    body = b'{"ref": "refs/heads/main"}'
    good_sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    if case == "oversized":
        body = b"{" + b" " * (3 * 1024 * 1024) + b"}"
        headers["X-Hub-Signature-256"] = (
            "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        )
    elif case == "bad signature":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    elif case == "wrong scheme":
        headers["X-Hub-Signature-256"] = "sha1=" + good_sig
    elif case == "wrong gitlab token":
        headers["X-Gitlab-Token"] = SECRET + "!"
    before = agent.status()["reconciles"], _agent_history(agent)
    url = agent.published_url()
    assert url is not None
    response = httpx.post(url + "/api/gitsync/webhook", content=body, headers=headers, timeout=60)
    assert response.status_code == status, response.text
    assert response.json()["message"] == message
    assert (agent.status()["reconciles"], _agent_history(agent)) == before


def test_working_dir_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    from gitsync.agent.loop import Agent, AgentConfig
    from gitsync.agent.source import DirectoryAgentSource
    from gitsync.sources.spec import SourceSpec
    from gitsync.sync.target import EmbeddedTarget

    source = tmp_path / "src"
    source.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("TOKEN = 'x'\n")
    (source / "code").symlink_to(outside)
    (source / "serve.yaml").write_text(
        "applications:\n  - name: a\n    route_prefix: /a\n    import_path: m:app\n"
        "    runtime_env: {working_dir: ./code}\n"
    )
    with EmbeddedTarget(tmp_path / "state") as target:
        agent = Agent(DirectoryAgentSource(SourceSpec(str(source))), target, AgentConfig())
        result = agent.reconcile_once()
        assert result.result == "invalid"
        assert result.error is not None
        assert (
            "serve.yaml:5:32: error: applications[0].runtime_env.working_dir: './code' goes "
            "through a symlink (code); symlinks are not followed"
        ) in result.error
        assert target.history("default", "default") == []
        assert target.live("default", "default").generation == 0
