"""The engine's HTTP API: a Starlette app serving the Vespa Deploy API v2 and the Ray
Serve REST API over one Engine.

``create_app`` builds it; its lifespan opens the engine (unless one is passed in) and
closes it. A pure ASGI middleware does, in order: timing, metrics and the access log;
the browser guard and bearer-token check; nothing else sits between a request and
its route. GitsyncErrors become ``{"error-code", "message"}`` with their HTTP status
(text/plain on the Serve routes, as Ray answers); no traceback is ever sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gitsync.api import deploy_v2, native, openapi, serve, ui
from gitsync.api.accesslog import ACCESS_LOG_NAME, AccessLog, AccessRecord
from gitsync.api.common import (
    DEFAULT_MAX_BODY,
    ApiContext,
    context,
    error_body,
    error_response,
    json_response,
    node_id_for,
)
from gitsync.api.guard import HostRule, RequestGuard
from gitsync.api.metrics import CONTENT_TYPE, ApiMetrics
from gitsync.api.rendered import Renderings
from gitsync.engine import Engine
from gitsync.errors import GitsyncError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiSettings:
    """How the API runs. ``token``: every route but health and metrics needs it
    (gitsync.api.guard); ``public_urls`` and ``bind_host`` extend the Host allow-list."""

    state_dir: Path
    token: str | None = None
    public_urls: tuple[str, ...] = ()
    bind_host: str = ""
    max_body: int = DEFAULT_MAX_BODY
    access_log_max_bytes: int = 10 * 1024 * 1024
    access_log_backups: int = 5


def is_text_route(path: str) -> bool:
    """Ray's routes answer errors as text/plain; Vespa's as JSON."""
    return path.startswith("/api/")


def error_for_path(path: str, status: int, code: str, message: str) -> Response:
    if is_text_route(path):
        return PlainTextResponse(message, status_code=status)
    return json_response(error_body(code, message), status)


class ObserveMiddleware:
    """Metrics for every request; the access log for the Deploy API's requests."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, access_log: AccessLog) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        arrived = time.time()
        logged = _logged(scope["path"])
        status = 500
        sent = 0
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        async def observing_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif logged and message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            # Only the access log needs the request's byte count.
            await self.app(scope, counting_receive if logged else receive, observing_send)
        finally:
            duration = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            self.metrics.observe(scope["method"], template, status, duration)
            if logged:
                self.access_log.write(_record(scope, arrived, status, received, sent, duration))


def _logged(path: str) -> bool:
    return path.startswith(("/application/v2", "/status.html", "/ApplicationStatus", "/state/"))


def _record(
    scope: Scope, arrived: float, status: int, received: int, sent: int, duration: float
) -> AccessRecord:
    headers = dict(scope["headers"])
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("", 0)
    query = scope.get("query_string", b"").decode("latin-1")
    raw_path = scope.get("raw_path") or scope["path"].encode()
    uri = raw_path.decode("latin-1") + (f"?{query}" if query else "")
    return AccessRecord(
        client=str(client[0]),
        client_port=int(client[1] or 0),
        time=arrived,
        method=scope["method"],
        uri=uri,
        version=f"HTTP/{scope.get('http_version', '1.1')}",
        status=status,
        request_bytes=received,
        response_bytes=sent,
        user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
        host=headers.get(b"host", b"").decode("latin-1"),
        local_port=int(server[1] or 0),
        duration=duration,
    )


# -- error handlers ----------------------------------------------------------------------


async def _gitsync_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GitsyncError)
    if is_text_route(request.url.path):
        return PlainTextResponse(exc.message, status_code=exc.http_status)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        response = error_for_path(path, 404, "NOT_FOUND", f"Nothing at path '{path}'")
    elif exc.status_code == 405:
        message = f"Method '{request.method}' is not supported"
        response = error_for_path(path, 405, "METHOD_NOT_ALLOWED", message)
    else:
        response = error_for_path(path, exc.status_code, "BAD_REQUEST", str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_for_path(request.url.path, 500, "INTERNAL_SERVER_ERROR", "Internal server error")


# -- app-level routes --------------------------------------------------------------------


async def metrics_endpoint(request: Request) -> Response:
    return Response(context(request).metrics.render(), media_type=CONTENT_TYPE)


def routes() -> list[BaseRoute]:
    # Serve's routes first: its GET is the API's hottest read, and Starlette tries the
    # routes in order (no path of one group matches a path of another).
    return [
        *serve.routes(),
        *deploy_v2.routes(),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.yaml", openapi.endpoint, methods=["GET"]),
        *native.routes,
        *ui.routes(),
    ]


#: Vespa's SessionsMaintainer runs every 30 s; so does ours.
SESSION_EXPIRY_INTERVAL_S = 30.0


async def _expire_sessions_forever(engine: Engine) -> None:
    """Delete sessions past their lifetime (never the active ones), like Vespa does.
    Engines sharing a store take turns by a lease: one pass per interval, not one each."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while True:
        await asyncio.sleep(SESSION_EXPIRY_INTERVAL_S)
        try:
            await run_in_threadpool(engine.run_maintenance, holder, SESSION_EXPIRY_INTERVAL_S)
        except Exception:  # a failed pass must not stop the next one
            log.exception("session expiry failed")


def create_app(
    settings: ApiSettings,
    *,
    engine: Engine | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The API over ``engine`` (owned by the caller) or over a new Engine on
    ``settings.state_dir`` that the app's lifespan opens and closes. ``extra_routes``
    are served after the API's own (the agent mounts its routes this way)."""
    owned = engine is None
    the_engine = engine if engine is not None else Engine(settings.state_dir)
    metrics = ApiMetrics(the_engine)
    access_log = AccessLog(
        settings.state_dir / "logs" / ACCESS_LOG_NAME,
        max_bytes=settings.access_log_max_bytes,
        backups=settings.access_log_backups,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            the_engine.open()
        maintainer = asyncio.create_task(_expire_sessions_forever(the_engine))
        try:
            yield
        finally:
            maintainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintainer
            if owned:
                the_engine.close()
            access_log.close()

    app = Starlette(
        routes=[*routes(), *extra_routes],
        lifespan=lifespan,
        exception_handlers={
            GitsyncError: _gitsync_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.router.redirect_slashes = False  # Ray and Vespa answer 404, not a redirect
    app.state.engine = the_engine  # what gitsync's own routes (native.py) read
    app.state.ui = ui.PageState(the_engine, settings.token)  # the web page's auth and reads
    app.state.ctx = ApiContext(
        engine=the_engine,
        metrics=metrics,
        max_body=settings.max_body,
        node_id=node_id_for(settings.state_dir),
        renderings=Renderings(the_engine),
    )
    app.add_middleware(
        RequestGuard,
        token=settings.token,
        render=error_for_path,
        hosts=HostRule(settings.public_urls, settings.bind_host),
        max_body=settings.max_body,
    )
    app.add_middleware(ObserveMiddleware, metrics=metrics, access_log=access_log)
    return app
