"""The agent's HTTP server: its routes on the engine's app (embedded engine) or on a small
app of their own (remote engine), the webhook in front of either, served by uvicorn on a
thread with the same settings as ``gitsync engine``.

The agent mounts its routes on the app ``gitsync.api`` builds (``create_app(...,
extra_routes=...)``) and hands itself over in ``app.state``: ``api`` never imports the
agent, and nothing edits an app's routes after it is built.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gitsync.agent import webhook
from gitsync.agent.loop import Agent
from gitsync.agent.routes import agent_routes
from gitsync.agent.ui_view import AgentUiView
from gitsync.api.address import ListenAddress, bind_socket, socket_url
from gitsync.api.app import ApiSettings, create_app, error_for_path
from gitsync.api.connections import uvicorn_limits
from gitsync.api.guard import HostRule, RequestGuard
from gitsync.engine import Engine
from gitsync.errors import GitsyncError

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 10.0


def engine_app(
    state_dir: Path,
    engine: Engine,
    *,
    token: str | None,
    public_urls: tuple[str, ...] = (),
    bind_host: str = "",
) -> Starlette:
    """The engine's API with the agent's routes mounted (the agent is attached later)."""
    settings = ApiSettings(
        state_dir=state_dir, token=token, public_urls=public_urls, bind_host=bind_host
    )
    return create_app(settings, engine=engine, extra_routes=agent_routes())


def standalone_app(
    *, token: str | None, public_urls: tuple[str, ...] = (), bind_host: str = ""
) -> Starlette:
    """The agent's API when the engine is remote: its routes and ``/metrics`` only,
    behind the engine's own guard (token, Host allow-list, loopback-only without token)."""
    from prometheus_client import generate_latest

    async def metrics(request: Request) -> Response:
        agent: Agent = request.app.state.agent
        return Response(
            generate_latest(agent.metrics.registry), media_type="text/plain; version=0.0.4"
        )

    app = Starlette(routes=[*agent_routes(), Route("/metrics", metrics)])
    hosts = HostRule(public_urls, bind_host)
    app.add_middleware(RequestGuard, token=token, render=error_for_path, hosts=hosts)
    return app


def attach(app: Starlette, agent: Agent) -> None:
    """Give the agent's routes (and the web page) the agent they serve."""
    app.state.agent = agent
    app.state.ui_agent = AgentUiView(agent)  # the web page's view of the agent


class WebhookFirst:
    """Sends ``POST /api/gitsync/webhook`` to the webhook app and the rest to ``api``.

    GitHub cannot send the API's bearer token; the webhook's own HMAC check replaces it.
    """

    def __init__(self, hook: ASGIApp, api: ASGIApp) -> None:
        self.hook = hook
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == webhook.PATH:
            await self.hook(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _webhook_app(agent: Agent, secret: str | None) -> Starlette:
    """The webhook alone: it authenticates by HMAC, so no bearer token stands before it."""
    route = webhook.webhook_route(lambda: agent.request("webhook"), agent.metrics, secret)
    return Starlette(routes=[route])


class AgentServer:
    """``app`` (with ``agent`` attached and the webhook in front) on ``address``."""

    def __init__(
        self,
        app: Starlette,
        agent: Agent,
        address: ListenAddress,
        *,
        webhook_secret: str | None,
        lifespan: bool,
    ) -> None:
        attach(app, agent)
        config = uvicorn.Config(
            WebhookFirst(_webhook_app(agent, webhook_secret), app),
            host=address.host,
            port=address.port,
            lifespan="on" if lifespan else "off",
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            **uvicorn_limits(),  # the engine's read deadlines and connection cap
        )
        self.address = address
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> str:
        """Serve on a thread; the URL once listening. Raises when it does not start
        (port in use, lifespan failure) or takes longer than ``timeout_s``."""
        sock = bind_socket(self.address)  # a port in use: one clear error, before anything starts
        thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="gitsync-api", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started and thread.is_alive():
            if time.monotonic() > deadline:
                self.stop()
                raise GitsyncError(f"the agent's API did not start within {timeout_s:g} s")
            time.sleep(0.01)
        if not self._server.started:
            raise GitsyncError("the agent's API did not start (see the messages above)")
        return socket_url(sock, self.address)

    def stop(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
