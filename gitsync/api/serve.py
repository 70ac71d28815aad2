"""Ray Serve REST API routes (ray-serve.md §4): V2 ``/api/serve/applications/`` and the
seed's V1 ``/api/serve/deployments/`` routes, over tenant ``default``, application
``default``.

As in Ray: success is 200 (PUT and DELETE with an empty body and no Content-Type),
errors are text/plain. A PUT is create session + prepare + activate; applications
not listed are removed at activation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gitsync.api import serve_body, serve_render, serve_scale
from gitsync.api.common import (
    RAY_VERSION,
    ApiContext,
    call,
    context,
    json_bytes,
    json_response,
    parse_json,
    read_body,
)
from gitsync.api.metrics import activation_result
from gitsync.config import package
from gitsync.engine import ActivateResult, DeploySource, DirListing, Engine
from gitsync.engine.ray import RayRuntime
from gitsync.errors import BadRequest, GitsyncError, InvalidConfig, NotFound

APPLICATIONS = "/api/serve/applications/"
_JSON_TYPES = ("application/json", "text/json")


def validation_text(exc: InvalidConfig, model: str = "ServeDeploySchema") -> str:
    """Ray's 400 shape: ``N validation error(s) for <model>``, then per error the
    location and, indented, the message."""
    errors = [issue for issue in exc.issues if issue.severity == "error"] or exc.issues
    if not errors:
        return exc.message
    plural = "s" if len(errors) != 1 else ""
    lines = [f"{len(errors)} validation error{plural} for {model}"]
    for issue in errors:
        lines += [issue.json_path, f"  {issue.message}"]
    return "\n".join(lines)


def _bad(message: str, status: int = 400) -> Response:
    return PlainTextResponse(message, status_code=status)


async def _json_object(request: Request, model: str) -> dict[str, Any]:
    """The body as a JSON object; wrong content types, non-JSON and non-objects are 4xx."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _JSON_TYPES and not content_type.endswith("+json"):
        raise _MediaType(f"Unsupported Content-Type '{content_type}': send application/json")
    body = await read_body(request)
    if not body.strip():
        raise BadRequest(f"1 validation error for {model}\n$\n  Request body is empty")
    # A big body is parsed off the event loop, which keeps answering meanwhile.
    data = parse_json(body) if len(body) < 65536 else await call(parse_json, body)
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise BadRequest(
            f"1 validation error for {model}\n$\n  Input should be a JSON object, got {kind}"
        )
    return data


class _MediaType(GitsyncError):
    error_code = "BAD_REQUEST"
    http_status = 415


def _deployed_via_v1(engine: Engine) -> bool | None:
    """Whether the active unit came from the V1 route; None when nothing is active."""
    try:
        listing = engine.get_application_content("default", "default", "default", "")
    except NotFound:
        return None
    entries = listing.entries if isinstance(listing, DirListing) else []
    return serve_body.V1_CONFIG_FILE in entries


def _deploy_v1_or_v2(engine: Engine, config: Mapping[str, Any], v1: bool) -> ActivateResult:
    """Refuse mixing the single- and multi-application APIs as Ray 2.x did (until a
    DELETE shuts Serve down), then create + prepare + activate."""
    active_v1 = _deployed_via_v1(engine)
    if active_v1 is not None and active_v1 != v1:
        raise BadRequest(serve_body.V1_AFTER_V2 if v1 else serve_body.V2_AFTER_V1)
    if not v1:
        return engine.serve_deploy(config)
    text = json.dumps(config, indent=2, sort_keys=True).encode()
    source = DeploySource(package.sha256_hex(text), {"via": "Serve REST"})
    return engine.deploy_files({serve_body.V1_CONFIG_FILE: text}, source=source)


async def _deploy(request: Request, config: Mapping[str, Any], model: str) -> Response:
    ctx = context(request)
    v1 = model == "ServeApplicationSchema"
    try:
        result: ActivateResult = await call(_deploy_v1_or_v2, ctx.engine, config, v1)
    except InvalidConfig as exc:
        ctx.metrics.activation(activation_result(exc))
        return _bad(validation_text(exc, model))
    except GitsyncError as exc:
        ctx.metrics.activation(activation_result(exc))
        raise
    ctx.metrics.activation("activated" if result.activated else "dry_run")
    return Response(status_code=200)


# -- V2 ----------------------------------------------------------------------------------


async def ray_version(request: Request) -> Response:
    return json_response(
        {
            "version": "4",
            "ray_version": RAY_VERSION,
            "ray_commit": "gitsync",
            "session_name": f"gitsync_{context(request).node_id[:16]}",
        }
    )


async def get_applications(request: Request) -> Response:
    # Most GETs carry no query: no parsing then.
    query = request.scope["query_string"]
    api_type = serve_body.api_type(request.query_params.get("api_type")) if query else None
    ctx = context(request)
    key = (APPLICATIONS, api_type)
    # On a shared store the version is a database read: off the event loop, like the rest.
    kept = None if ctx.engine.shared_store else ctx.renderings.kept(key)
    if kept is None:
        kept = await call(ctx.renderings.get, key, lambda: _instance_body(ctx, api_type))
    return Response(kept, media_type="application/json")


def _instance_body(ctx: ApiContext, api_type: str | None) -> bytes:
    """The rendered ``ServeInstanceDetails``."""
    state = ctx.engine.live()
    return json_bytes(serve_render.instance_details(state, ctx.node_id, api_type))


async def put_applications(request: Request) -> Response:
    config = await _json_object(request, "ServeDeploySchema")
    try:
        serve_body.check_deploy_document(config)
    except InvalidConfig as exc:
        context(request).metrics.activation(activation_result(exc))
        return _bad(validation_text(exc))
    return await _deploy(request, config, "ServeDeploySchema")


def _delete(engine: Engine) -> None:
    """Remove the unit; with the Ray runtime and no unit left, Ray's own DELETE follows
    (``serve.shutdown``), even when this unit held nothing, as against Ray."""
    engine.serve_delete()
    if isinstance(engine.runtime, RayRuntime):
        engine.runtime.shutdown()


async def delete_applications(request: Request) -> Response:
    await call(_delete, context(request).engine)
    return Response(status_code=200)


# -- V1 ----------------------------------------------------------------------------------


async def get_deployments(request: Request) -> Response:
    state = await call(context(request).engine.live)
    return json_response(serve_render.v1_config(state))


async def put_deployments(request: Request) -> Response:
    body = await _json_object(request, "ServeApplicationSchema")
    serve_body.check_v1_document(body)
    return await _deploy(request, serve_body.v1_to_deploy_config(body), "ServeApplicationSchema")


async def get_deployments_status(request: Request) -> Response:
    state = await call(context(request).engine.live)
    return json_response(serve_render.v1_status(state))


def _route(path: str, endpoint: Callable[[Request], Any], method: str) -> Route:
    return Route(path, endpoint, methods=[method])


def routes() -> list[BaseRoute]:
    v1 = "/api/serve/deployments/"
    return [
        _route("/api/ray/version", ray_version, "GET"),
        _route(APPLICATIONS, get_applications, "GET"),
        _route(APPLICATIONS, put_applications, "PUT"),
        _route(APPLICATIONS, delete_applications, "DELETE"),
        _route(v1, get_deployments, "GET"),
        _route(v1, put_deployments, "PUT"),
        _route(v1, delete_applications, "DELETE"),
        _route(f"{v1}status", get_deployments_status, "GET"),
        _route(
            "/api/v1/applications/{application_name}/deployments/{deployment_name}/scale",
            serve_scale.scale_deployment,
            "POST",
        ),
    ]
