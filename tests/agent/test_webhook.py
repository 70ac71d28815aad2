"""``POST /api/gitsync/webhook`` on a real agent process: GitHub, Gitea and GitLab push
events, bad and missing signatures, the body cap, and an untrusted payload."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.git import WorkRepo

SECRET = "s3cret-webhook"
Start = Callable[..., AgentProcess]


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_payload(sha: str, url: str) -> bytes:
    return json.dumps(
        {"ref": "refs/heads/main", "after": sha, "repository": {"clone_url": url}}
    ).encode()


def post(agent: AgentProcess, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(agent.url + "/api/gitsync/webhook", content=body, headers=headers, timeout=10)


def reconciles(agent: AgentProcess) -> int:
    return int(agent.status()["reconciles"])


def test_push_events_trigger_a_fetch_and_bad_ones_are_refused(
    tmp_path: Path, repo: WorkRepo, start_agent: Start
) -> None:
    first = repo.commit("one", {"apps/a.yaml": app_yaml("a", price=1)})
    agent = start_agent(
        str(repo.path), "--ref", "main", "--interval", "3600", "--webhook-secret", SECRET
    )
    agent.wait_status(lambda s: s["revisions"]["applied"] == first, "the first sync")

    # GitHub: a valid signature; the payload's sha and URL are lies and are ignored.
    second = repo.commit("two", {"apps/a.yaml": app_yaml("a", price=2)})
    body = push_payload("0" * 40, "file:///somewhere/else.git")
    ok = post(
        agent, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(body)}
    )
    assert (ok.status_code, ok.json()) == (
        202,
        {"status": "refresh requested", "provider": "github"},
    )
    status = agent.wait_status(lambda s: s["revisions"]["applied"] == second, "the webhook sync")
    assert status["lastSync"]["reasons"] == ["webhook"]
    assert status["source"]["location"] == str(repo.path)

    before = reconciles(agent)
    missing = post(agent, body, {"X-GitHub-Event": "push"})
    assert missing.status_code == 401
    assert missing.json() == {
        "error-code": "UNAUTHORIZED",
        "message": "webhook signature missing: expected X-Hub-Signature-256, X-Gitea-Signature "
        "or X-Gitlab-Token",
    }
    bad = post(
        agent, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(body, "x")}
    )
    assert (bad.status_code, bad.json()["message"]) == (401, "webhook signature does not match")
    wrong_token = post(agent, body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"})
    assert (wrong_token.status_code, wrong_token.json()["message"]) == (
        401,
        "webhook token does not match",
    )
    too_big = b"x" * (3 * 1024 * 1024 + 1)
    large = post(
        agent, too_big, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(too_big)}
    )
    assert large.status_code == 413
    assert large.json()["message"] == "webhook body is larger than 3145728 bytes"
    assert reconciles(agent) == before  # none of these asked for a reconcile

    # Gitea (its own header) and GitLab (the token) are accepted; a ping is answered.
    gitea = post(agent, body, {"X-Gitea-Event": "push", "X-Gitea-Signature": sign(body)})
    assert (gitea.status_code, gitea.json()["provider"]) == (202, "gitea")
    gitlab = post(agent, body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET})
    assert (gitlab.status_code, gitlab.json()["provider"]) == (202, "gitlab")
    ping = post(
        agent, b"{}", {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + sign(b"{}")}
    )
    assert ping.json() == {"status": "pong", "provider": "github"}

    metrics = httpx.get(agent.url + "/metrics", timeout=10).text
    assert 'gitsync_agent_webhook_requests_total{result="accepted"} 3.0' in metrics
    assert 'gitsync_agent_webhook_requests_total{result="unauthorized"} 3.0' in metrics
    assert 'gitsync_agent_webhook_requests_total{result="too-large"} 1.0' in metrics
    assert agent.stop() == 0
    assert "webhook rejected from 127.0.0.1: webhook signature does not match" in agent.output()


def test_the_webhook_is_disabled_without_a_secret(tmp_path: Path, start_agent: Start) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.yaml").write_text(app_yaml("a"))
    agent = start_agent(str(src), "--interval", "3600")
    body = b"{}"
    response = post(
        agent, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(body)}
    )
    assert response.status_code == 404
    assert response.json()["message"] == (
        "the webhook is disabled: start the agent with --webhook-secret (or GITSYNC_WEBHOOK_SECRET)"
    )
