"""A replayed signed webhook delivery is a 200 that triggers nothing new."""

from __future__ import annotations

import hashlib
import hmac
import threading

import httpx
import uvicorn
from starlette.applications import Starlette

from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.webhook import PATH, Deliveries, webhook_route
from tests.testing.wait import wait_until

SECRET = "s3cret-webhook"


def test_a_replayed_delivery_triggers_nothing() -> None:
    pushes: list[int] = []
    route = webhook_route(lambda: pushes.append(1), AgentMetrics(), SECRET)
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[route]), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the webhook to listen", timeout_s=20)
    port = server.servers[0].sockets[0].getsockname()[1]
    body = b'{"ref": "refs/heads/main"}'
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            first = http.post(PATH, content=body, headers={**headers, "X-GitHub-Delivery": "d-1"})
            again = http.post(PATH, content=body, headers={**headers, "X-GitHub-Delivery": "d-1"})
            other = http.post(PATH, content=body, headers={**headers, "X-GitHub-Delivery": "d-2"})
    finally:
        server.should_exit = True
        thread.join(10)
    assert first.status_code == 202 and other.status_code == 202
    assert (again.status_code, again.json()["status"]) == (200, "duplicate delivery")
    assert len(pushes) == 2


def test_deliveries_are_forgotten_after_the_window() -> None:
    seen = Deliveries(window_s=10)
    assert seen.first_time("a", now=0) and not seen.first_time("a", now=5)
    assert seen.first_time("a", now=20)
