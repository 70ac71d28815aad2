"""The running agent's own routes.

- ``GET /api/gitsync/status``: source, revisions attempted and applied, the last sync's
  result and error, drift, next poll (JSON).
- ``POST /api/gitsync/refresh[?wait=true&timeout=S]``: ask for a reconcile (the git
  post-receive hook does this); with ``wait`` the answer is the status after it ran.
- ``POST /api/gitsync/validate?revision=SHA``: validate a ``tar.gz`` of a commit (``git
  archive``) as the agent would deploy it, prune rules included; the pre-receive hook
  asks this so that it needs no validator of its own.
- ``POST /api/gitsync/webhook`` (``gitsync.agent.webhook``).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gitsync.agent import webhook
from gitsync.agent.loop import Agent
from gitsync.config import package
from gitsync.config.loader import load_snapshot
from gitsync.config.snapshot import Snapshot
from gitsync.errors import GitsyncError, InvalidConfig
from gitsync.sync import reconcile

STATUS_PATH = "/api/gitsync/status"
REFRESH_PATH = "/api/gitsync/refresh"
VALIDATE_PATH = "/api/gitsync/validate"
MAX_WAIT_S = 300.0


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error-code": "BAD_REQUEST", "message": message}, status_code=400)


def validate_files(agent: Agent, files: dict[str, bytes], revision: str) -> dict[str, Any]:
    """Validate a pushed tree below the agent's subpath, then check prune against live."""
    subpath = agent.source.describe().get("subpath", "")
    if subpath:
        prefix = subpath.rstrip("/") + "/"
        files = {
            name[len(prefix) :]: data for name, data in files.items() if name.startswith(prefix)
        }
    snapshot = Snapshot(revision, files, frozenset(), {"sha": revision})
    result = load_snapshot(snapshot)
    issues = [issue.render() for issue in result.issues]
    if not result.ok:
        return {"ok": False, "issues": issues, "error": "invalid"}
    try:
        live = agent.target.live(agent.config.tenant, agent.config.application)
        proposal = reconcile.propose(snapshot, live, policy=agent.config.policy)
        reconcile.check_prune(proposal)
    except InvalidConfig as exc:
        return {
            "ok": False,
            "issues": [i.render() for i in exc.issues] or [exc.message],
            "error": "invalid",
        }
    except GitsyncError as exc:
        return {"ok": False, "issues": issues, "error": exc.message}
    return {"ok": True, "issues": issues, "error": None, "summary": _summary(proposal)}


def _summary(proposal: reconcile.Proposal) -> str:
    from gitsync.plan.render import summary_line

    return summary_line(proposal.plan)


def agent_routes(agent: Agent) -> list[BaseRoute]:
    async def status(request: Request) -> JSONResponse:
        return JSONResponse(agent.status.to_json())

    async def refresh(request: Request) -> Response:
        reason = request.query_params.get("reason", "hook")
        if reason not in ("hook", "manual"):
            return _bad_request("reason must be 'hook' or 'manual'")
        try:
            timeout = min(MAX_WAIT_S, float(request.query_params.get("timeout", "60")))
        except ValueError:
            return _bad_request("timeout must be a number of seconds")
        ticket = agent.request(reason)
        if request.query_params.get("wait", "false") != "true":
            return JSONResponse({"status": "refresh requested"}, status_code=202)
        done = await run_in_threadpool(agent.wait_for, ticket, timeout)
        body = agent.status.to_json()
        return JSONResponse(body, status_code=200 if done else 504)

    async def validate(request: Request) -> JSONResponse:
        revision = request.query_params.get("revision", "pushed")
        body = await request.body()
        content_type = request.headers.get("content-type", "application/gzip")

        def run() -> dict[str, Any]:
            files = package.read_package(body, content_type, package.PackageLimits())
            return validate_files(agent, files, revision)

        try:
            return JSONResponse(await run_in_threadpool(run))
        except GitsyncError as exc:
            return JSONResponse(
                {"error-code": exc.error_code, "message": exc.message}, status_code=exc.http_status
            )

    return [
        Route(STATUS_PATH, status, methods=["GET"]),
        Route(REFRESH_PATH, refresh, methods=["POST"]),
        Route(VALIDATE_PATH, validate, methods=["POST"]),
    ]


def webhook_app(agent: Agent, secret: str | None) -> Starlette:
    """The webhook alone: it authenticates by HMAC, so no bearer token stands before it."""
    route = webhook.webhook_route(lambda: agent.request("webhook"), agent.metrics, secret)
    return Starlette(routes=[route])


class WebhookFirst:
    """Sends ``POST /api/gitsync/webhook`` to the webhook app and the rest to ``api``.

    GitHub cannot send the API's bearer token; the webhook's own HMAC check replaces it.
    """

    def __init__(self, hook: ASGIApp, api: ASGIApp) -> None:
        self.hook = hook
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == webhook.PATH:
            await self.hook(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def standalone_app(agent: Agent, *, token: str | None) -> Starlette:
    """The agent's API when the engine is remote: its routes and ``/metrics`` only."""
    from prometheus_client import generate_latest

    from gitsync.api.app import GuardMiddleware

    async def metrics(request: Request) -> Response:
        return Response(
            generate_latest(agent.metrics.registry), media_type="text/plain; version=0.0.4"
        )

    app = Starlette(routes=[*agent_routes(agent), Route("/metrics", metrics)])
    app.add_middleware(GuardMiddleware, token=token)
    return app
