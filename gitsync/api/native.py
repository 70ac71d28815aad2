"""gitsync's own routes (``/api/gitsync/v1``): what ``gitsync.sync.client`` speaks.

They carry what neither the Vespa nor the Serve API has room for: source revisions
and commit metadata, code digests, history and rollback.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gitsync.api import leases
from gitsync.api.common import context, parse_json
from gitsync.config import package
from gitsync.engine import Engine
from gitsync.engine.records import DeploySource
from gitsync.errors import BadRequest, LeaseHeld
from gitsync.sync import wire
from gitsync.sync.target import LiveView

PREFIX = "/api/gitsync/v1/tenant/{tenant}/application/{application}"
# The live view is built from decoded JSON and records: it holds no cycle to look for
# (a tenth of the encoding's time at 1,000 applications).
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
)
SOURCE_HEADER = "X-Gitsync-Source"


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _unit(request: Request) -> tuple[str, str]:
    return request.path_params["tenant"], request.path_params["application"]


def live_view(engine: Engine, tenant: str, application: str) -> LiveView:
    state = engine.live(tenant, application)
    return LiveView(
        state.generation,
        state.config,
        engine.active_code_digests(tenant, application),
        state.applications,
        state.runtime,
        engine.history(tenant, application),
        list(state.drift),
        state.runtime_error,
        engine.active_warnings(tenant, application),
    )


def _live_body(engine: Engine, tenant: str, application: str) -> bytes:
    """As JSONResponse encodes (compact, UTF-8, no NaN), off the event loop: a unit of
    1,000 applications is megabytes of JSON."""
    view = wire.live_to_json(live_view(engine, tenant, application))
    return _ENCODER.encode(view).encode("utf-8")


async def live(request: Request) -> Response:
    """The live view, kept per state version: an agent that polls an unchanged unit
    costs a lookup, not a read, decode and encode of every application's config."""
    tenant, application = _unit(request)
    engine = _engine(request)
    renderings = context(request).renderings
    render = functools.partial(_live_body, engine, tenant, application)
    body = await run_in_threadpool(renderings.get, ("live", tenant, application), render)
    return Response(body, media_type="application/json")


async def history(request: Request) -> JSONResponse:
    tenant, application = _unit(request)
    entries = await run_in_threadpool(_engine(request).history, tenant, application)
    return JSONResponse([entry.to_json() for entry in entries])


def _source(request: Request) -> DeploySource:
    raw = request.headers.get(SOURCE_HEADER)
    if not raw:
        return DeploySource()
    try:
        data: Any = parse_json(raw, SOURCE_HEADER)
        meta = {str(k): str(v) for k, v in dict(data.get("meta") or {}).items()}
        return DeploySource(revision=str(data.get("revision") or ""), meta=meta)
    except (BadRequest, ValueError, TypeError, AttributeError) as exc:
        raise BadRequest(f"{SOURCE_HEADER} must be a JSON object with revision and meta") from exc


async def deploy(request: Request) -> JSONResponse:
    tenant, application = _unit(request)
    engine = _engine(request)
    source = _source(request)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    force = request.query_params.get("force", "false") == "true"

    def run() -> dict[str, Any]:
        files = package.read_package(body, content_type, engine.limits)
        leases.fence(request, engine, tenant, application)
        result = engine.deploy_files(
            files, tenant=tenant, application=application, source=source, force=force
        )
        return wire.activation_to_json(result)

    try:
        return JSONResponse(await run_in_threadpool(run))
    except LeaseHeld as exc:
        return leases.refused(exc)


async def rollback(request: Request) -> JSONResponse:
    tenant, application = _unit(request)
    raw = request.query_params.get("generation")
    try:
        generation = int(raw) if raw is not None else None
    except ValueError as exc:
        raise BadRequest(f"generation must be a number, got {raw!r}") from exc
    result = await run_in_threadpool(_engine(request).rollback, tenant, application, generation)
    return JSONResponse(wire.activation_to_json(result))


async def reapply(request: Request) -> JSONResponse:
    tenant, application = _unit(request)
    engine = _engine(request)

    def run() -> int:
        leases.fence(request, engine, tenant, application)
        return engine.reapply(tenant, application)

    try:
        return JSONResponse({"generation": await run_in_threadpool(run)})
    except LeaseHeld as exc:
        return leases.refused(exc)


routes = [
    Route(PREFIX + "/live", live, methods=["GET"]),
    Route(PREFIX + "/history", history, methods=["GET"]),
    Route(PREFIX + "/deploy", deploy, methods=["POST"]),
    Route(PREFIX + "/rollback", rollback, methods=["POST"]),
    Route(PREFIX + "/reapply", reapply, methods=["POST"]),
    *leases.routes(PREFIX),
]
