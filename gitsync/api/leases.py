"""The agents' leases over HTTP (``/api/gitsync/v1/.../lease``), and the fence header.

- ``GET``: the unit's lease, ``{"lease": null}`` when no agent ever claimed it.
- ``POST`` ``{"holder", "ttlSeconds", "epoch"?, "info"?}``: take or renew it; 200 with
  the lease, 409 ``LEASE_HELD`` with ``lease`` (the current holder's) when taken.
- ``DELETE ?holder=H&epoch=N``: let it go (204; a no-op unless H holds it at N).

A deploy or reapply that carries ``X-Gitsync-Lease: {"holder", "epoch"}`` is refused
(409 ``LEASE_HELD``, as JSON) unless that pair still holds the unit's lease.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gitsync.api.common import error_body, parse_json, read_body
from gitsync.engine import Engine
from gitsync.errors import BadRequest, LeaseHeld

LEASE_HEADER = "X-Gitsync-Lease"


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _unit(request: Request) -> tuple[str, str]:
    return request.path_params["tenant"], request.path_params["application"]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{what} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest(f"{what} must be an integer, got {value!r}") from exc


async def get_lease(request: Request) -> JSONResponse:
    tenant, application = _unit(request)
    lease = await run_in_threadpool(_engine(request).unit_leases.current, tenant, application)
    return JSONResponse({"lease": lease.to_json() if lease is not None else None})


async def claim_lease(request: Request) -> JSONResponse:
    tenant, application = _unit(request)
    data = parse_json(await read_body(request))
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object with holder and ttlSeconds")
    holder, ttl, info = data.get("holder"), data.get("ttlSeconds"), data.get("info")
    info = {} if info is None else info
    if not isinstance(holder, str):
        raise BadRequest("holder must be a string")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise BadRequest("ttlSeconds must be a number")
    if not isinstance(info, dict):
        raise BadRequest("info must be a JSON object")
    epoch = None if data.get("epoch") is None else _int(data["epoch"], "epoch")
    leases = _engine(request).unit_leases
    try:
        lease = await run_in_threadpool(
            lambda: leases.claim(
                tenant, application, holder=holder, ttl_s=float(ttl), epoch=epoch, info=info
            )
        )
    except LeaseHeld as exc:
        return refused(exc)
    return JSONResponse(lease.to_json())


def refused(exc: LeaseHeld) -> JSONResponse:
    """409 as JSON with the holder's lease (other errors of ``/api/`` routes are text,
    as Ray's are; the agent must tell this one apart)."""
    body: dict[str, Any] = {**error_body(exc.error_code, exc.message), "lease": exc.lease}
    return JSONResponse(body, status_code=exc.http_status)


async def release_lease(request: Request) -> Response:
    tenant, application = _unit(request)
    holder = request.query_params.get("holder")
    if not holder:
        raise BadRequest("holder is required")
    epoch = _int(request.query_params.get("epoch", ""), "epoch")
    leases = _engine(request).unit_leases
    await run_in_threadpool(lambda: leases.release(tenant, application, holder=holder, epoch=epoch))
    return Response(status_code=204)


def fence(request: Request, engine: Engine, tenant: str, application: str) -> None:
    """Refuse the request (LeaseHeld) when its ``X-Gitsync-Lease`` no longer holds the
    unit; a request without the header is not fenced. Runs on a worker thread."""
    raw = request.headers.get(LEASE_HEADER)
    if not raw:
        return
    data = parse_json(raw, LEASE_HEADER)
    if not isinstance(data, dict) or not isinstance(data.get("holder"), str):
        raise BadRequest(f'{LEASE_HEADER} must be a JSON object {{"holder": ..., "epoch": ...}}')
    epoch = _int(data.get("epoch"), "epoch")
    engine.unit_leases.check(tenant, application, holder=data["holder"], epoch=epoch)


def routes(prefix: str) -> list[Route]:
    return [
        Route(prefix + "/lease", get_lease, methods=["GET"]),
        Route(prefix + "/lease", claim_lease, methods=["POST"]),
        Route(prefix + "/lease", release_lease, methods=["DELETE"]),
    ]
