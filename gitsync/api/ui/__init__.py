"""The web page at ``/`` and ``/ui/…``: server-rendered HTML (Jinja2), one small
script, no build step. ``routes()`` is mounted by ``gitsync.api.app.create_app``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from gitsync.api.ui import actions, pages
from gitsync.api.ui.render import HERE, SECURITY_HEADERS
from gitsync.api.ui.state import PageState

__all__ = ["PageState", "routes"]

_STATIC = {
    "ui.css": "text/css",
    "ui.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _STATIC:
        return Response("Not found", status_code=404, media_type="text/plain")
    response = FileResponse(HERE / "static" / name, media_type=_STATIC[name])
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "max-age=300"
    return response


UNIT = "/ui/units/{tenant}/{application}"


def routes() -> list[BaseRoute]:
    return [
        Route("/", pages.overview, methods=["GET"]),
        Route("/ui/", pages.overview, methods=["GET"]),
        Route("/ui/version", pages.version, methods=["GET"]),
        Route("/ui/static/{name}", static, methods=["GET"]),
        Route("/ui/login", actions.sign_in_form, methods=["GET"]),
        Route("/ui/login", actions.sign_in, methods=["POST"]),
        Route("/ui/logout", actions.sign_out, methods=["POST"]),
        Route(UNIT, pages.unit, methods=["GET"]),
        Route(UNIT + "/history", pages.history, methods=["GET"]),
        Route(UNIT + "/generations/{generation:int}", pages.generation, methods=["GET"]),
        Route(UNIT + "/generations/{generation:int}/files", pages.files, methods=["GET"]),
        Route(UNIT + "/rollback/{generation:int}", actions.rollback_preview, methods=["GET"]),
        Route(UNIT + "/rollback/{generation:int}", actions.rollback, methods=["POST"]),
        Route(UNIT + "/sync", actions.sync_now, methods=["POST"]),
        Route(UNIT + "/refresh", actions.refresh, methods=["POST"]),
    ]
