"""The credentials the Ray runtime sends to a Ray dashboard, found as Ray's CLI finds them.

Ray 2.60's token authentication is on when ``RAY_AUTH_MODE=token``; the token is then
``RAY_AUTH_TOKEN``, else the file ``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``.
It travels as ``Authorization: Bearer``. Credentials written in ``--ray-address``
(``https://user:pass@host``) are sent as HTTP basic auth. Neither ever reaches a
message or a log line: :attr:`RayEndpoint.display` is the address with them redacted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from gitsync.errors import RuntimeUnavailable
from gitsync.localfile import FileTooLarge, NotRegularFile, read_regular
from gitsync.redact import redact_text

_MAX_TOKEN_BYTES = 64 * 1024  # Ray's tokens are tens of bytes


@dataclass(frozen=True)
class RayEndpoint:
    url: str  # without userinfo
    display: str  # safe to show
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)


def ray_token(env: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """The token Ray's own clients would send, or None when token auth is off."""
    environ = os.environ if env is None else env
    if environ.get("RAY_AUTH_MODE", "").strip().lower() != "token":
        return None
    token = environ.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token
    path = Path(environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    try:
        # Followed through a link, as Ray's CLI does; still only a regular file, so that
        # a FIFO or a device there cannot stall or flood the engine.
        raw = read_regular(path, _MAX_TOKEN_BYTES, follow_links=True)
        token = raw.decode("utf-8").strip()
    except OSError as exc:
        raise RuntimeUnavailable(
            f"RAY_AUTH_MODE=token but the token file {path} cannot be read ({exc.strerror})"
        ) from None
    except (NotRegularFile, FileTooLarge) as exc:
        reason = f"is {exc.kind}" if isinstance(exc, NotRegularFile) else "is too big"
        raise RuntimeUnavailable(
            f"RAY_AUTH_MODE=token but the token file {path} {reason}, not a token"
        ) from None
    except UnicodeDecodeError:
        raise RuntimeUnavailable(
            f"RAY_AUTH_MODE=token but the token file {path} is not UTF-8 text"
        ) from None
    if not token:
        raise RuntimeUnavailable(f"RAY_AUTH_MODE=token but the token file {path} is empty")
    return token


def endpoint(address: str) -> RayEndpoint:
    parts = urlsplit(address.rstrip("/"))
    basic = None
    url = address.rstrip("/")
    if parts.username is not None:
        basic = (unquote(parts.username), unquote(parts.password or ""))
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit(parts._replace(netloc=host))
    token = ray_token()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return RayEndpoint(url, redact_text(address.rstrip("/")), headers, basic)
