"""Where a server listens: ``--listen HOST:PORT`` parsed and checked (no server imported,
so the command line can show the default cheaply).

The engine and the agent listen on 127.0.0.1:19071 by default, Vespa's config server
port; never on a non-loopback address without a token.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass

from gitsync.errors import BadRequest, GitsyncError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19071  # Vespa's config server port
DEFAULT_LISTEN = f"{DEFAULT_HOST}:{DEFAULT_PORT}"


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


class ListenFailed(GitsyncError):
    """The address cannot be bound (a port in use, an address not on this machine)."""

    error_code = "LISTEN_FAILED"
    http_status = 500
    exit_code = 2


def bind_socket(address: ListenAddress) -> socket.socket:
    """A socket bound to ``address``, bound here so that a busy port is one clear line
    (uvicorn would log a traceback after we had announced the server)."""
    try:
        infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ListenFailed(f"cannot listen on {address}: {exc.strerror or exc}") from exc
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenFailed(
                f"port {address.port} on {address.host} is already in use (another gitsync "
                "engine or agent?): stop it, or pick another port with --listen HOST:PORT"
            ) from exc
        raise ListenFailed(f"cannot listen on {address}: {exc.strerror or exc}") from exc
    return sock


def socket_url(sock: socket.socket, address: ListenAddress) -> str:
    """``http://HOST:PORT`` of a bound socket (the real port when ``address`` said 0)."""
    return f"http://{ListenAddress(address.host, int(sock.getsockname()[1]))}"
