"""The running agent's own routes.

- ``GET /api/gitsync/status``: source, revisions attempted and applied, the last sync's
  result and error, drift, next poll (JSON).
- ``POST /api/gitsync/refresh[?wait=true&timeout=S]``: ask for a reconcile (the git
  post-receive hook does this); with ``wait`` the answer is the status after it ran.
- ``POST /api/gitsync/validate?revision=SHA``: validate a ``tar.gz`` of a commit (``git
  archive``) as the agent would deploy it, prune rules included; the pre-receive hook
  asks this so that it needs no validator of its own.

Both take ``repository=PATH&branch=B&path=SUBPATH`` (the git hooks send them): an agent
that does not watch that repository's branch and subpath does nothing and answers 409
``NOT_WATCHED`` with its source.
- ``POST /api/gitsync/webhook`` (``gitsync.agent.webhook``).

``gitsync.agent.server`` mounts them on the engine's app, or on a small app of their own
when the engine is remote.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gitsync.agent.client import NOT_WATCHED, REFRESH_PATH, STATUS_PATH, VALIDATE_PATH
from gitsync.agent.loop import Agent
from gitsync.agent.source import watches
from gitsync.config import package
from gitsync.config.loader import load_snapshot
from gitsync.config.snapshot import Snapshot
from gitsync.errors import GitsyncError, InvalidConfig
from gitsync.sync import reconcile

MAX_WAIT_S = 300.0


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error-code": "BAD_REQUEST", "message": message}, status_code=400)


def validate_files(
    agent: Agent,
    files: dict[str, bytes],
    revision: str,
    symlinks: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Validate a pushed tree below the agent's subpath, then check prune against live."""
    subpath = agent.source.describe().get("subpath", "")
    if subpath:
        prefix = subpath.rstrip("/") + "/"
        files = {
            name[len(prefix) :]: data for name, data in files.items() if name.startswith(prefix)
        }
        symlinks = frozenset(n[len(prefix) :] for n in symlinks if n.startswith(prefix))
    snapshot = Snapshot(revision, files, symlinks, {"sha": revision})
    result = load_snapshot(snapshot, unknown_keys=agent.config.unknown_keys)
    issues = [issue.render() for issue in result.issues]
    if not result.ok:
        return {"ok": False, "issues": issues, "error": "invalid"}
    try:
        live = agent.target.live(agent.config.tenant, agent.config.application)
        proposal = reconcile.propose(
            snapshot, live, policy=agent.config.policy, unknown_keys=agent.config.unknown_keys
        )
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


def _not_watched(agent: Agent, request: Request) -> JSONResponse | None:
    """409 NOT_WATCHED when the request names a repository this agent does not watch."""
    params = request.query_params
    repository = params.get("repository")
    if repository is None:
        return None
    source = agent.source.describe()
    if watches(source, repository, params.get("branch", ""), params.get("path", "")):
        return None
    return JSONResponse(
        {
            "error-code": NOT_WATCHED,
            "message": f"this agent watches {source.get('location', '?')}, not {repository}",
            "source": source,
        },
        status_code=409,
    )


def _agent(request: Request) -> Agent:
    agent: Agent = request.app.state.agent
    return agent


def agent_routes() -> list[BaseRoute]:
    """The agent's routes; they serve the agent stored on the app as ``state.agent``
    (``gitsync.agent.server.attach``), so they can join an app built before the agent."""

    async def status(request: Request) -> JSONResponse:
        return JSONResponse(_agent(request).status.to_json())

    async def refresh(request: Request) -> Response:
        agent = _agent(request)
        refused = _not_watched(agent, request)
        if refused is not None:
            return refused
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
        agent = _agent(request)
        refused = _not_watched(agent, request)
        if refused is not None:
            return refused
        revision = request.query_params.get("revision", "pushed")
        body = await request.body()
        content_type = request.headers.get("content-type", "application/gzip")

        def run() -> dict[str, Any]:
            files, links = package.read_source_tree(body, content_type, package.PackageLimits())
            return validate_files(agent, files, revision, links)

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
