"""Vespa Deploy API v2 routes: sessions, prepareandactivate and tenants
(vespa-deploy-api.md §2.1-2.7, §2.10). Applications, hosts and health are in
``deploy_v2_apps``.

Every success is exactly 200; ``session-id`` is a JSON string; URLs are absolute and
built from the request's Host header.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gitsync.api import deploy_v2_apps
from gitsync.api.common import (
    bool_param,
    call,
    context,
    float_param,
    json_response,
    read_body,
)
from gitsync.api.metrics import activation_result
from gitsync.api.urls import app_url, content_response, session_url
from gitsync.engine import ActivateResult, DeploySource, Engine
from gitsync.engine.records import JsonDict
from gitsync.errors import BadRequest, GitsyncError

V2 = "/application/v2"
_FROM = re.compile(
    r"https?://[^/]+/application/v2/tenant/([^/]+)/application/([^/]+)"
    r"/environment/[^/]+/region/[^/]+/instance/([^/]+)"
)


def session_id_of(request: Request) -> int:
    """The ``{session_id}`` path parameter; 400 when it is not a number (§2.4)."""
    raw: str = request.path_params["session_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"Session id in request is not a number, request was '{request.url}'")
    return int(raw)


def _names(request: Request) -> tuple[str, str]:
    """applicationName and instance query parameters (default ``default``)."""
    params = request.query_params
    return params.get("applicationName", "default"), params.get("instance", "default")


#: The revision stays the package's digest; ``via`` names the API in history.
VESPA_API_SOURCE = DeploySource(meta={"via": "Vespa API"})


async def _activate(
    request: Request, func: object, *args: object, **kwargs: object
) -> ActivateResult:
    """Run an activating engine call and count its result."""
    ctx = context(request)
    kwargs.setdefault("source", VESPA_API_SOURCE)  # history says who deployed it
    try:
        result: ActivateResult = await call(func, *args, **kwargs)  # type: ignore[arg-type]
    except GitsyncError as exc:
        ctx.metrics.activation(activation_result(exc))
        raise
    ctx.metrics.activation("activated" if result.activated else "dry_run")
    return result


# -- prepareandactivate (§2.1, §2.2) -------------------------------------------------------


async def prepare_and_activate(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    application, instance = _names(request)
    float_param(request, "timeout")
    body = await read_body(request)
    content_type = _content_type(request, body)
    engine = context(request).engine
    result = await _activate(
        request,
        engine.prepare_and_activate,
        tenant,
        body,
        content_type,
        application=application,
        instance=instance,
        force=bool_param(request, "force"),
        dry_run=bool_param(request, "dryRun"),
    )
    sid = result.session.session_id
    done = "prepared and activated" if result.activated else "prepared (dry run, not activated)"
    return json_response(
        {
            "log": [entry.to_json() for entry in result.log],
            "message": f"Session {sid} for tenant '{tenant}' {done}.",
            "session-id": str(sid),
            "activated": result.activated,
            "tenant": tenant,
            "url": app_url(request, result.app),
            "configChangeActions": result.actions.to_json(),
        }
    )


async def activate_prepared(request: Request) -> Response:
    """``PUT …/prepareandactivate/{id}``: (re)try activating a prepared session."""
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    float_param(request, "timeout")
    engine = context(request).engine
    result = await _activate(
        request, engine.activate, tenant, sid, force=bool_param(request, "force")
    )
    return json_response({"message": f"Session {sid} for {result.app.full_string()} activated"})


# -- sessions (§2.3, §2.5-2.7) ---------------------------------------------------------------


def _content_type(request: Request, body: bytes) -> str:
    """Vespa's checks on an upload, in its order: data, then a Content-Type."""
    if not body:
        raise BadRequest("Request contains no data")
    content_type = request.headers.get("content-type")
    if not content_type:
        raise BadRequest("Request contains no Content-Type header")
    return content_type


async def create_session(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    float_param(request, "timeout")
    engine = context(request).engine
    source = request.query_params.get("from")
    if source is not None:
        match = _FROM.fullmatch(source)
        if match is None:
            raise BadRequest(f"Parameter 'from' has illegal value '{source}'")
        _, application, instance = match.groups()
        info = await call(engine.create_session_from_application, tenant, application, instance)
    else:
        body = await read_body(request)
        # A body labelled x-gzip that is not gzip: Vespa answers 500; we answer 400
        # BAD_REQUEST, since it is the client's input that is broken, not the server.
        info = await call(engine.create_session, tenant, body, _content_type(request, body))
    sid = info.session_id
    return json_response(
        {
            "log": [],
            "tenant": tenant,
            "session-id": str(sid),
            "prepared": session_url(request, tenant, sid, "prepared"),
            "content": session_url(request, tenant, sid, "content/"),
            "message": f"Session {sid} for tenant '{tenant}' created.",
        }
    )


async def prepare(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    application, instance = _names(request)
    float_param(request, "timeout")
    engine = context(request).engine
    result = await call(engine.prepare, tenant, sid, application=application, instance=instance)
    return json_response(
        {
            "log": [entry.to_json() for entry in result.log],
            "tenant": tenant,
            "session-id": str(sid),
            "activate": session_url(request, tenant, sid, "active"),
            "message": f"Session {sid} for tenant '{tenant}' prepared.",
            "configChangeActions": result.actions.to_json(),
        }
    )


async def get_prepared(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    await call(context(request).engine.get_prepared, tenant, sid)
    return json_response(
        {
            "tenant": tenant,
            "session-id": str(sid),
            "activate": session_url(request, tenant, sid, "active"),
            "message": f"Session {sid} for tenant '{tenant}' prepared.",
        }
    )


async def activate(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    float_param(request, "timeout")
    engine = context(request).engine
    result = await _activate(
        request, engine.activate, tenant, sid, force=bool_param(request, "force")
    )
    return json_response(_activated_body(request, tenant, result))


def _activated_body(request: Request, tenant: str, result: ActivateResult) -> JsonDict:
    sid = result.session.session_id
    return {
        "deploy": {
            "from": "unknown",
            "timestamp": int(result.session.changed * 1000),
            "internalRedeploy": False,
        },
        "application": {
            "id": result.app.serialized(),
            "checksum": result.checksum,
            "generation": result.generation,
            "previousActiveGeneration": result.previous_active_generation,
        },
        "tenant": tenant,
        "session-id": str(sid),
        "message": f"Session {sid} for tenant '{tenant}' activated.",
        "url": app_url(request, result.app),
    }


# -- session content (§2.4) -------------------------------------------------------------------


def _content_path(request: Request) -> str:
    return str(request.path_params.get("path", ""))


async def get_content(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    engine: Engine = context(request).engine
    path = _content_path(request)
    listing_base = session_url(request, tenant, sid, "content/")
    return await content_response(
        request, listing_base, engine.get_content, engine.get_content_status, tenant, sid, path
    )


async def put_content(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    path = _content_path(request)
    body = await read_body(request)
    # A directory (trailing "/") ignores any body; an empty body is "no body" (400).
    data = None if path == "" or path.endswith("/") else (body or None)
    await call(context(request).engine.put_content, tenant, sid, path, data)
    return json_response({"prepared": session_url(request, tenant, sid, "prepared")})


async def delete_content(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    sid = session_id_of(request)
    await call(context(request).engine.delete_content, tenant, sid, _content_path(request))
    return json_response({"prepared": session_url(request, tenant, sid, "prepared")})


# -- tenants (§2.10) --------------------------------------------------------------------------


async def list_tenants(request: Request) -> Response:
    tenants = await call(context(request).engine.list_tenants)
    return json_response({"tenants": tenants})


async def tenant(request: Request) -> Response:
    name = request.path_params["tenant"]
    engine = context(request).engine
    if request.method == "PUT":
        created = await call(engine.create_tenant, name)
        message = f"Tenant {name} created." if created else f"Tenant '{name}' already exists"
        return json_response({"message": message})
    if request.method == "DELETE":
        await call(engine.delete_tenant, name)
        return json_response({"message": f"Tenant {name} deleted."})
    await call(engine.get_tenant, name)
    return json_response({"message": f"Tenant '{name}' exists."})


def routes() -> list[BaseRoute]:
    t = f"{V2}/tenant/{{tenant}}"
    s = f"{t}/session/{{session_id}}"
    return [
        Route(f"{V2}/tenant", list_tenants, methods=["GET"]),
        Route(f"{V2}/tenant/", list_tenants, methods=["GET"]),
        Route(t, tenant, methods=["GET", "PUT", "DELETE"]),
        Route(f"{t}/", tenant, methods=["GET", "PUT", "DELETE"]),
        Route(f"{t}/prepareandactivate", prepare_and_activate, methods=["POST"]),
        Route(f"{t}/prepareandactivate/{{session_id}}", activate_prepared, methods=["PUT"]),
        Route(f"{t}/session", create_session, methods=["POST"]),
        Route(f"{s}/prepared", prepare, methods=["PUT"]),
        Route(f"{s}/prepared", get_prepared, methods=["GET"]),
        Route(f"{s}/active", activate, methods=["PUT"]),
        Route(f"{s}/content", get_content, methods=["GET"]),
        Route(f"{s}/content/{{path:path}}", get_content, methods=["GET"]),
        Route(f"{s}/content/{{path:path}}", put_content, methods=["PUT"]),
        Route(f"{s}/content/{{path:path}}", delete_content, methods=["DELETE"]),
        *deploy_v2_apps.routes(t),
    ]
