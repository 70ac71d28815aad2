"""Run the API with uvicorn: HTTP/1.1 (chunked request bodies accepted), loopback
by default, and never on a non-loopback address without a token."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from gitsync.api.address import ListenAddress, check_bind
from gitsync.api.app import ApiSettings, create_app
from gitsync.api.connections import uvicorn_limits
from gitsync.engine import Engine


def build_server(
    settings: ApiSettings,
    address: ListenAddress,
    *,
    engine: Engine | None = None,
    log_level: str = "warning",
) -> uvicorn.Server:
    """A uvicorn server for the API; ``engine`` (opened by the caller) or one the app's
    lifespan opens on ``settings.state_dir``."""
    check_bind(address, settings.token)
    config = uvicorn.Config(
        create_app(settings, engine=engine),
        host=address.host,
        port=address.port,
        lifespan="on",
        log_level=log_level,
        access_log=False,  # the API writes its own access log
        server_header=False,
        proxy_headers=False,
        **uvicorn_limits(),  # httptools with read deadlines and connection and header caps
    )
    return uvicorn.Server(config)


def bound_port(server: uvicorn.Server) -> int | None:
    """The port the server listens on (useful with port 0), once started."""
    for listener in getattr(server, "servers", []) or []:
        for sock in listener.sockets:
            name = sock.getsockname()
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(name[1])
    return None


def serve(
    settings: ApiSettings,
    address: ListenAddress,
    *,
    log_level: str = "warning",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM end it cleanly). The engine is opened
    first, so a state directory in use is a clear error rather than a failed startup."""
    check_bind(address, settings.token)
    with Engine(settings.state_dir) as engine:
        server = build_server(settings, address, engine=engine, log_level=log_level)
        if on_ready is not None:
            on_ready(f"http://{address}")
        server.run()
