"""Who may talk to a gitsync listener (the engine's and the agent's alike).

One ASGI middleware, :class:`RequestGuard`, applies these rules to every request, in
order, before any route runs:

1. **Host allow-list** (against DNS rebinding): the ``Host`` header must name a
   loopback host (``localhost``, ``*.localhost``, ``127.x.x.x``, ``[::1]``), a host of
   a ``--public-url``, or the address the listener is bound to. Anything else: 421.
2. **Clients**: without a token only loopback clients are served (403).
3. **Token**: with a token, every route needs it (``Authorization: Bearer <t>``, or
   ``X-Ray-Authorization`` as Ray 2.60's clients may send it) except the open ones,
   which carry no secret: ``/state/v1/health``, ``/status.html`` (Vespa's "OK"),
   ``/openapi.yaml``
   and ``/metrics``. Missing: 401; wrong:
   403. The web page (``/``, ``/ui/…``) checks the token or its cookie itself.
4. **Browser guard** (Ray's rule): a browser may only GET, HEAD or OPTIONS (405).
5. **Body cap** (413), by Content-Length and while a chunked body arrives.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gitsync.api.common import DEFAULT_MAX_BODY, too_large_message
from gitsync.errors import BadRequest, PayloadTooLarge

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Open without a token: none carries a secret (health, Vespa's "OK", metrics, the contract).
OPEN_PATHS = frozenset({"/state/v1/health", "/status.html", "/metrics", "/openapi.yaml"})
_BROWSER_HEADERS = (b"origin", b"referer")
_TOKEN_HEADERS = (b"authorization", b"x-ray-authorization")
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
_COMMON_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# (path, status, error-code, message) -> the response to send
ErrorRenderer = Callable[[str, int, str, str], Response]


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost`` or a loopback IP address (no port, no brackets)."""
    if host in _COMMON_LOOPBACK:
        return True  # every local request names one of these: no address parsing
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(header: str) -> str:
    """The host name of a ``Host`` header value: port and IPv6 brackets removed."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def public_host(url: str) -> str:
    """The host of a ``--public-url`` (``https://gitsync.example.com:8443/``)."""
    parts = urlsplit(url if "://" in url else f"//{url}")
    if not parts.hostname:
        raise BadRequest(f"--public-url {url!r} names no host")
    return parts.hostname.lower()


class HostRule:
    """The allowed ``Host`` names of one listener."""

    def __init__(self, public_urls: Iterable[str] = (), bind_host: str = "") -> None:
        hosts = {public_host(url) for url in public_urls}
        bind = host_of(bind_host) if bind_host else ""
        if bind not in _WILDCARD_BINDS:
            hosts.add(bind)
        self.hosts = frozenset(hosts)

    def allows(self, header: bytes | None) -> bool:
        if not header:
            return False  # HTTP/1.1 requires it; a client without one is not a browser
        try:
            host = host_of(header.decode("ascii"))
        except UnicodeDecodeError:
            return False
        return is_loopback_host(host) or host in self.hosts


def presented_token(headers: dict[bytes, bytes]) -> bytes | None:
    """The bearer token of a request, from the first header that carries one."""
    for name in _TOKEN_HEADERS:
        value = headers.get(name)
        if value:
            scheme, _, given = value.partition(b" ")
            return given.strip() if scheme.lower() == b"bearer" else b""
    return None


def token_denial(headers: dict[bytes, bytes], token: bytes) -> tuple[int, str, str] | None:
    """None when the request carries ``token``; else (status, error-code, message)."""
    given = presented_token(headers)
    if given is None:
        return 401, "UNAUTHORIZED", "Missing 'Authorization: Bearer <token>' header"
    if not given or not hmac.compare_digest(given, token):
        return 403, "FORBIDDEN", "Invalid token"
    return None


def is_browser(headers: dict[bytes, bytes]) -> bool:
    """Ray's dashboard rule: a Mozilla user agent, or Origin/Referer/Sec-Fetch-* headers."""
    if headers.get(b"user-agent", b"").startswith(b"Mozilla"):
        return True
    return any(name in _BROWSER_HEADERS or name.startswith(b"sec-fetch-") for name in headers)


def is_page(path: str) -> bool:
    """The web page checks its own requests: token or cookie, CSRF, same origin."""
    return path == "/" or path.startswith("/ui/")


class RequestGuard:
    """The rules of this module's docstring, as a pure ASGI middleware."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        render: ErrorRenderer,
        hosts: HostRule | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.render = render
        self.hosts = hosts or HostRule()
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        denied = self._denial(scope)
        if denied is not None:
            status, code, message = denied
            response = self.render(scope["path"], status, code, message)
            if status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, self._capped(receive), send)

    def _denial(self, scope: Scope) -> tuple[int, str, str] | None:
        method: str = scope["method"]
        path: str = scope["path"]
        headers = dict(scope["headers"])
        if not self.hosts.allows(headers.get(b"host")):
            return 421, "BAD_REQUEST", "Unknown Host header: add the name with --public-url"
        client = scope.get("client")
        loopback_client = client is not None and is_loopback_host(str(client[0]))
        if self.token is None and not loopback_client:
            return 403, "FORBIDDEN", "Without a token only loopback clients are served"
        mutating = method not in SAFE_METHODS
        if mutating and is_browser(headers) and not is_page(path):
            return 405, "METHOD_NOT_ALLOWED", f"'{method}' method not allowed for browser traffic."
        if self.token is not None and path not in OPEN_PATHS and not is_page(path):
            denied = token_denial(headers, self.token)
            if denied is not None:
                return denied
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            return 413, "BAD_REQUEST", too_large_message(int(declared), self.max_body)
        return None

    def _capped(self, receive: Receive) -> Receive:
        """A chunked body has no Content-Length: count it as it arrives."""
        total = 0

        async def capped() -> Message:
            nonlocal total
            message = await receive()
            total += len(message.get("body", b""))
            if total > self.max_body:
                raise PayloadTooLarge(too_large_message(total, self.max_body))
            return message

        return capped
