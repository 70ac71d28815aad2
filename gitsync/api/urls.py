"""Absolute URLs from the Host header, and the package content replies shared by
session content and application content (vespa-deploy-api.md §1.14, §2.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from gitsync.api.common import call, json_response
from gitsync.engine.records import AppId, DirListing, FileContent, FileStatus
from gitsync.errors import BadRequest

#: Vespa's zone defaults; the CLI hard-codes them (§1.15).
ENVIRONMENT = "prod"
REGION = "default"

_CONTENT_TYPES = {
    "xml": "application/xml",
    "json": "application/json",
    "jar": "application/java-archive",
}


def base_url(request: Request) -> str:
    """``http://<Host header>``; always http, as Vespa builds it."""
    host = request.headers.get("host")
    if not host:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"http://{host}"


def app_path(app: AppId) -> str:
    return (
        f"/application/v2/tenant/{app.tenant}/application/{app.application}"
        f"/environment/{ENVIRONMENT}/region/{REGION}/instance/{app.instance}"
    )


def app_url(request: Request, app: AppId) -> str:
    return base_url(request) + app_path(app)


def session_url(request: Request, tenant: str, session_id: int, suffix: str) -> str:
    return f"{base_url(request)}/application/v2/tenant/{tenant}/session/{session_id}/{suffix}"


def content_type_of(path: str) -> str:
    extension = path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
    return _CONTENT_TYPES.get(extension, "text/plain")


def _status_json(base: str, item: FileStatus) -> dict[str, str]:
    return {"status": item.status, "md5": item.md5, "name": base + quote(item.path)}


async def content_response(
    request: Request,
    listing_base: str,
    fetch: Callable[..., FileContent | DirListing],
    fetch_status: Callable[..., FileStatus | list[FileStatus]] | None,
    *args: Any,
) -> Response:
    """GET content: a file's bytes, a directory's URLs, or ``return=status``.

    ``args`` are the engine call's leading arguments, the content path last.
    """
    mode = request.query_params.get("return", "content")
    recursive = request.query_params.get("recursive", "").lower() == "true"
    if mode == "status" and fetch_status is not None:
        status = await call(fetch_status, *args)
        if isinstance(status, list):
            return json_response([_status_json(listing_base, item) for item in status])
        return json_response(_status_json(listing_base, status))
    if mode != "content":
        allowed = "'content' or 'status'" if fetch_status is not None else "'content'"
        raise BadRequest(f"Parameter 'return' has illegal value '{mode}': use {allowed}")
    found = await call(fetch, *args, recursive=recursive)
    if isinstance(found, FileContent):
        return Response(found.data, media_type=content_type_of(found.path))
    return json_response([listing_base + quote(entry) for entry in found.entries])
