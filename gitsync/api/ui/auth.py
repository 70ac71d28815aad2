"""Who may read the pages and who may act on them.

- Reads follow the API's rule (gitsync.api.guard): with a token configured, every
  reader needs it (``Authorization: Bearer`` or the page's cookie), loopback or not;
  without one only loopback clients are served, with a loopback or listed Host.
- Actions (POST) need, in addition: the token when one is configured, a CSRF token
  bound to the caller's session, and a same-origin request (``Sec-Fetch-Site`` and
  ``Origin`` when the browser sends them).
- The cookie holds a value derived from the token (HMAC), never the token itself:
  ``HttpOnly``, ``SameSite=Strict``, ``Path=/``, and ``Secure`` over https.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request

from gitsync.api.guard import token_denial

COOKIE = "gitsync_ui"
_SESSION_LABEL = b"gitsync-ui-session"


class UiAuth:
    def __init__(self, token: str | None) -> None:
        self.token = token
        # CSRF tokens are MACs under a key that lives as long as the process.
        self._csrf_key = secrets.token_bytes(32)

    @property
    def session_value(self) -> str | None:
        if self.token is None:
            return None
        return hmac.new(self.token.encode(), _SESSION_LABEL, hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def has_token(self, request: Request) -> bool:
        """The request carries the token: as a bearer header or as the page's cookie."""
        if self.token is None:
            return False
        headers = {key.lower(): value for key, value in request.headers.raw}
        if token_denial(headers, self.token.encode()) is None:
            return True
        cookie = request.cookies.get(COOKIE, "")
        expected = self.session_value or ""
        return bool(cookie) and hmac.compare_digest(cookie.encode(), expected.encode())

    def may_read(self, request: Request) -> bool:
        return self.token is None or self.has_token(request)

    def may_act(self, request: Request) -> bool:
        return self.token is None or self.has_token(request)

    def csrf_token(self, request: Request) -> str:
        """A MAC of the caller's session (the cookie, or none): a page of another origin
        cannot read it, and it is worthless with another session."""
        session = request.cookies.get(COOKIE, "") if self.token is not None else ""
        return hmac.new(self._csrf_key, session.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request, given: str) -> bool:
        return bool(given) and hmac.compare_digest(
            given.encode(), self.csrf_token(request).encode()
        )


def same_origin_refusal(request: Request) -> str | None:
    """Why a state-changing request is refused as cross-origin, or None when it is not."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Refused: a {site} request may not act on this page"
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        if origin != f"{request.url.scheme}://{host}":
            return f"Refused: origin '{origin}' is not this page's origin"
    return None
