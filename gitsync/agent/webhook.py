"""``POST /api/gitsync/webhook``: push events from GitHub, Gitea and GitLab.

The webhook is enabled only with a secret. GitHub and Gitea sign the raw body with
HMAC-SHA256 (``X-Hub-Signature-256: sha256=<hex>``, Gitea also ``X-Gitea-Signature:
<hex>``); GitLab sends the secret itself (``X-Gitlab-Token``). Both are compared in
constant time. The body is capped before it is read in full, and nothing in it is
trusted: not the sha, not the URL, not the branch. A valid push only asks the agent to
reconcile, which reads the source it was configured with (reference/gitops-anchors.md §5).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gitsync.agent.metrics import AgentMetrics

log = logging.getLogger("gitsync.webhook")

PATH = "/api/gitsync/webhook"
#: Flux's receiver cap: push payloads are a few KiB, a large body is not a push.
DEFAULT_MAX_BODY = 3 * 1024 * 1024
_EVENT_HEADERS = ("x-github-event", "x-gitea-event", "x-gogs-event", "x-gitlab-event")
_PUSH_EVENTS = frozenset({"push", "push hook", "tag push hook", "tag_push", "system hook"})
_PING_EVENTS = frozenset({"ping"})


class _Reject(Exception):
    def __init__(self, status: int, code: str, result: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.result, self.message = status, code, result, message


def _error(exc: _Reject) -> JSONResponse:
    return JSONResponse({"error-code": exc.code, "message": exc.message}, status_code=exc.status)


async def _read_capped(request: Request, cap: int) -> bytes:
    too_large = _Reject(413, "BAD_REQUEST", "too-large", f"webhook body is larger than {cap} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise too_large
    return bytes(body)


def verify(headers: dict[str, str], body: bytes, secret: str) -> str:
    """The provider whose signature checks out; raises _Reject (401) otherwise."""
    key = secret.encode()
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if "x-gitlab-token" in headers:
        if hmac.compare_digest(headers["x-gitlab-token"].encode(), key):
            return "gitlab"
        raise _Reject(401, "UNAUTHORIZED", "unauthorized", "webhook token does not match")
    github = headers.get("x-hub-signature-256")
    if github is not None:
        scheme, _, digest = github.partition("=")
        if scheme == "sha256" and hmac.compare_digest(
            digest.strip().lower().encode(), expected.encode()
        ):
            return "gitea" if "x-gitea-event" in headers else "github"
        raise _Reject(401, "UNAUTHORIZED", "unauthorized", "webhook signature does not match")
    gitea = headers.get("x-gitea-signature")
    if gitea is not None:
        if hmac.compare_digest(gitea.strip().lower().encode(), expected.encode()):
            return "gitea"
        raise _Reject(401, "UNAUTHORIZED", "unauthorized", "webhook signature does not match")
    raise _Reject(
        401,
        "UNAUTHORIZED",
        "unauthorized",
        "webhook signature missing: expected X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token",
    )


_DELIVERY_HEADERS = ("x-github-delivery", "x-gitea-delivery", "x-gitlab-event-uuid")
DEDUP_WINDOW_S = 3600.0
_MAX_REMEMBERED = 10_000


class Deliveries:
    """Delivery ids seen within the window: a replayed signed delivery triggers nothing."""

    def __init__(self, window_s: float = DEDUP_WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: dict[str, float] = {}  # insertion order is arrival order

    def first_time(self, delivery: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= self.window_s and len(self._seen) < _MAX_REMEMBERED:
                break
            del self._seen[oldest]
        if delivery in self._seen:
            return False
        self._seen[delivery] = now
        return True


def webhook_route(
    on_push: Callable[[], object],
    metrics: AgentMetrics,
    secret: str | None,
    *,
    max_body: int = DEFAULT_MAX_BODY,
) -> Route:
    """The route; ``on_push`` is called (with nothing from the payload) for a valid push,
    once per delivery id within the de-duplication window."""
    deliveries = Deliveries()

    async def webhook(request: Request) -> JSONResponse:
        client = request.client.host if request.client else "?"
        try:
            if not secret:
                raise _Reject(
                    404,
                    "NOT_FOUND",
                    "disabled",
                    "the webhook is disabled: start the agent with --webhook-secret "
                    "(or GITSYNC_WEBHOOK_SECRET)",
                )
            body = await _read_capped(request, max_body)
            headers = {k.lower(): v for k, v in request.headers.items()}
            provider = verify(headers, body, secret)
        except _Reject as exc:
            metrics.webhooks.labels(exc.result).inc()
            if exc.result == "unauthorized":
                log.warning("webhook rejected from %s: %s", client, exc.message)
            return _error(exc)
        event = next((headers[h] for h in _EVENT_HEADERS if h in headers), "push").strip().lower()
        if event in _PING_EVENTS:
            metrics.webhooks.labels("ignored").inc()
            return JSONResponse({"status": "pong", "provider": provider})
        if event not in _PUSH_EVENTS:
            metrics.webhooks.labels("ignored").inc()
            return JSONResponse({"status": "ignored", "event": event, "provider": provider})
        delivery = next((headers[h] for h in _DELIVERY_HEADERS if h in headers), "")[:128]
        if delivery and not deliveries.first_time(delivery):
            metrics.webhooks.labels("ignored").inc()
            return JSONResponse({"status": "duplicate delivery", "provider": provider})
        on_push()
        metrics.webhooks.labels("accepted").inc()
        log.info("webhook push from %s (%s): refresh requested", provider, client)
        return JSONResponse({"status": "refresh requested", "provider": provider}, status_code=202)

    return Route(PATH, webhook, methods=["POST"])
