"""Vespa Deploy API v2 routes for active applications, hosts and health
(vespa-deploy-api.md §2.8-2.9, and the endpoints outside application/v2 that
clients poll: ``/status.html``, ``/ApplicationStatus``, ``/state/v1/*``)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from gitsync.api.common import VESPA_VERSION, call, context, json_response
from gitsync.api.urls import app_path, app_url, base_url, content_response
from gitsync.engine import AppId, Engine, FileContent
from gitsync.errors import GitsyncError, NotFound

# A name="..." attribute; applied to one tag at a time (see host_names), so that no
# scan ever runs past the tag's end: linear in the file.
_NAME_ATTRIBUTE = re.compile(r"\bname[ \t\r\n]*=[ \t\r\n]*[\"']([^\"'<>]+)[\"']")


def host_names(xml: str) -> set[str]:
    """The ``name`` attributes of the ``<host>`` tags in hosts.xml."""
    names: set[str] = set()
    start = xml.find("<host")
    while start >= 0:
        end = xml.find(">", start)
        end = len(xml) if end < 0 else end
        tag = xml[start + len("<host") : end]
        if not tag[:1].isalnum():  # <host ...>, not <hosts> or <hostname>
            names.update(_NAME_ATTRIBUTE.findall(tag))
        start = xml.find("<host", max(end, start + 1))
    return names


#: Without a hosts.xml, an embedded engine's applications all run on this host.
DEFAULT_HOST = "localhost"


def _app_of(request: Request) -> tuple[str, str, str]:
    params = request.path_params
    return params["tenant"], params["application"], params.get("instance", "default")


async def list_applications(request: Request) -> Response:
    apps = await call(context(request).engine.list_applications, request.path_params["tenant"])
    return json_response([app_url(request, app) for app in apps])


async def application(request: Request) -> Response:
    tenant, name, instance = _app_of(request)
    engine = context(request).engine
    if request.method == "DELETE":
        await call(engine.delete_application, tenant, name, instance)
        app = AppId(tenant, name, instance)
        return json_response({"message": f"Application '{app.full_string()}' deleted"})
    info = await call(engine.get_application, tenant, name, instance)
    return json_response(
        {
            "generation": info.generation,
            "applicationPackageFileReference": info.checksum,
            "modelVersions": [VESPA_VERSION],
        }
    )


async def application_content(request: Request) -> Response:
    """``GET …/instance/{i}/content[/{path}]``: the active session's files (``vespa fetch``)."""
    tenant, name, instance = _app_of(request)
    engine = context(request).engine
    path = str(request.path_params.get("path", ""))
    listing_base = f"{app_url(request, AppId(tenant, name, instance))}/content/"
    return await content_response(
        request, listing_base, engine.get_application_content, None, tenant, name, instance, path
    )


async def serviceconverge(request: Request) -> Response:
    """We run no Vespa services: converged, with ``services: []`` (§7.3 keeps ``--wait``
    working); current = wanted = the active generation."""
    tenant, name, instance = _app_of(request)
    info = await call(context(request).engine.get_application, tenant, name, instance)
    url = base_url(request) + request.url.path
    host = request.path_params.get("host")
    if host is not None:
        raise NotFound(
            f"Service '{host}' is not part of application '{info.app.full_string()}': "
            "it has no services"
        )
    return json_response(
        {
            "services": [],
            "url": url,
            "currentGeneration": info.generation,
            "wantedGeneration": info.generation,
            "converged": True,
        }
    )


async def nothing_here(request: Request) -> Response:
    """Other ``…/instance/{i}/…`` paths (logs, metrics, restart, …): 404, not 405."""
    raise NotFound(f"Nothing at path '{request.url.path}'")


def _hosts_of(engine: Engine, app: AppId) -> set[str]:
    """The hostnames in the active package's hosts.xml, else ``localhost``."""
    try:
        found = engine.get_application_content(
            app.tenant, app.application, app.instance, "hosts.xml"
        )
    except GitsyncError:
        return {DEFAULT_HOST}
    data = found.data if isinstance(found, FileContent) else b""
    names = host_names(data.decode("utf-8", "replace"))
    return names or {DEFAULT_HOST}


def find_host(engine: Engine, hostname: str) -> AppId:
    for tenant in engine.list_tenants():
        for app in engine.list_applications(tenant):
            if hostname in _hosts_of(engine, app):
                return app
    raise NotFound(f"Could not find any application using host '{hostname}'")


async def host(request: Request) -> Response:
    app = await call(find_host, context(request).engine, request.path_params["hostname"])
    return json_response(
        {
            "tenant": app.tenant,
            "application": app.application,
            "environment": "prod",
            "region": "default",
            "instance": app.instance,
        }
    )


# -- health, outside application/v2 ---------------------------------------------------------


async def status_html(request: Request) -> Response:
    return HTMLResponse("<html><body>OK</body></html>\n")


async def application_status(request: Request) -> Response:
    return json_response(
        {
            "application": {
                "vespa": {"version": VESPA_VERSION},
                "meta": {"name": "gitsync", "generation": 0},
            },
            "abstractComponents": [],
            "handlers": [],
        }
    )


async def health(request: Request) -> Response:
    """Up while the engine's store answers; "down" (503) while it does not, e.g. while
    a shared PostgreSQL restarts: a load balancer then sends requests elsewhere."""
    engine = context(request).engine
    try:
        await call(engine.check_store)
        driver = await call(engine.runtime_driver)
    except GitsyncError as exc:
        return json_response({"status": {"code": "down", "message": exc.message}}, 503)
    body: dict[str, object] = {"status": {"code": "up"}}
    if driver is not None:
        body["runtimeDriver"] = driver  # which engine drives Ray (the runtime lease)
    return json_response(body)


async def version(request: Request) -> Response:
    return json_response({"version": VESPA_VERSION})


def routes(tenant_path: str) -> list[BaseRoute]:
    a = f"{tenant_path}/application/{{application}}"
    i = f"{a}/environment/{{environment}}/region/{{region}}/instance/{{instance}}"
    rest = ["GET", "POST", "PUT", "DELETE"]
    return [
        Route(f"{tenant_path}/application/", list_applications, methods=["GET"]),
        Route(f"{tenant_path}/application", list_applications, methods=["GET"]),
        Route(a, application, methods=["GET", "DELETE"]),
        Route(i, application, methods=["GET", "DELETE"]),
        Route(f"{i}/content", application_content, methods=["GET"]),
        Route(f"{i}/content/{{path:path}}", application_content, methods=["GET"]),
        Route(f"{i}/serviceconverge", serviceconverge, methods=["GET"]),
        Route(f"{i}/serviceconverge/{{host}}", serviceconverge, methods=["GET"]),
        Route(f"{i}/{{rest:path}}", nothing_here, methods=rest),
        Route("/application/v2/host/{hostname}", host, methods=["GET"]),
        Route("/status.html", status_html, methods=["GET"]),
        Route("/ApplicationStatus", application_status, methods=["GET"]),
        Route("/state/v1/health", health, methods=["GET"]),
        Route("/state/v1/version", version, methods=["GET"]),
    ]


__all__ = ["app_path", "routes"]
