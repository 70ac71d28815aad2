"""Where a server listens: ``--listen HOST:PORT`` parsed and checked (no server imported,
so the command line can show the default cheaply).

The engine and the agent listen on 127.0.0.1:19071 by default, Vespa's config server
port; never on a non-loopback address without a token.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from gitsync.errors import BadRequest

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
