"""Rendering shared by every page: the templates, the headers every page carries, the
live version, and the HTML error page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gitsync.api.ui.auth import UiAuth
from gitsync.api.ui.provider import agent_view
from gitsync.api.ui.reads import EngineReads
from gitsync.api.ui.state import page_state
from gitsync.engine import Engine
from gitsync.errors import GitsyncError

HERE = Path(__file__).parent
MANAGED_REFRESH_S = 3.0
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

#: No inline script or style, no framing (a rollback button must not be clickjacked).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def ui_auth(request: Request) -> UiAuth:
    return page_state(request).auth


def engine_of(request: Request) -> Engine:
    return page_state(request).engine


def reads_of(request: Request) -> EngineReads:
    return page_state(request).reads


def live_version(request: Request) -> str:
    """Changes whenever the engine commits or the agent finishes a reconcile; with a
    managed runtime (Ray), whose statuses change under the engine, every few seconds."""
    agent = agent_view(request)
    engine = engine_of(request)
    version = f"{engine.state_version}.{agent.version() if agent else 0}"
    if engine.runtime.name != "none":
        version += f".{int(time.monotonic() // MANAGED_REFRESH_S)}"
    return version


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    auth = ui_auth(request)
    agent = agent_view(request)
    full = {
        "csrf": auth.csrf_token(request),
        "token_configured": auth.token is not None,
        "signed_in": auth.has_token(request),
        "may_act": auth.may_act(request),
        "has_agent": agent is not None,
        "version": live_version(request),
        "notice": request.query_params.get("notice", "")[:300],
        **context,
    }
    response = templates.TemplateResponse(request, template, full, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, exc: GitsyncError) -> Response:
    return page(
        request,
        "error.html",
        {"title": "Error", "error_code": exc.error_code, "message": exc.message},
        exc.http_status,
    )


def refusal(request: Request, status: int, message: str) -> Response:
    return page(
        request,
        "error.html",
        {"title": "Refused", "error_code": "FORBIDDEN", "message": message},
        status,
    )
