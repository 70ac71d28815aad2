"""Run the API with uvicorn: HTTP/1.1 (chunked request bodies accepted), loopback
by default, and never on a non-loopback address without a token (DESIGN.md §6)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from gitsync.api.app import ApiSettings, create_app
from gitsync.engine import Engine
from gitsync.errors import BadRequest

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(value: str) -> ListenAddress:
    """``HOST:PORT``, ``[V6]:PORT`` or ``PORT`` (on 127.0.0.1)."""
    text = value.strip()
    if text.isdigit():
        host, port_text = DEFAULT_HOST, text
    elif text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise BadRequest(f"Invalid listen address '{value}': expected HOST:PORT")
    return ListenAddress(host, int(port_text))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(address: ListenAddress, token: str | None) -> None:
    """Refuse a non-loopback bind unless a token protects the mutating routes."""
    if not is_loopback(address.host) and not token:
        raise BadRequest(
            f"Refusing to listen on non-loopback address {address} without a token: "
            "pass --token or set GITSYNC_TOKEN"
        )


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
        http="auto",  # httptools when installed, else h11: both de-chunk bodies
        lifespan="on",
        log_level=log_level,
        access_log=False,  # the API writes its own access log
        server_header=False,
        proxy_headers=False,
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
