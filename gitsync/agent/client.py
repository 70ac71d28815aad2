"""A running agent's API, as the git hooks ask it: the one client of the agent's API.

Each hook is a fresh process that makes one request, so what the client costs to import
is part of every push. On ``http://`` (the loopback agent of a state directory, the
usual case) the request goes over the standard library's HTTP/1.1 connection, which a
hook's Python has loaded anyway; httpx, the project's client for everything else,
costs ~55 ms more per hook to import and is loaded only for ``https://``, where its
certificate and TLS handling earn their place.

Transport failures and answers that are not the agent's JSON become
EngineUnavailable (the hook then does the work itself); an error the agent answers
becomes a GitsyncError with the agent's message. A request may name the repository it
is about (``about``): an agent watching anything else then does nothing and answers
NOT_WATCHED with its source, which is returned as the answer (the hook does the work
itself), so a hook needs no status request first.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode, urlsplit

from gitsync.errors import EngineUnavailable, GitsyncError

STATUS_PATH = "/api/gitsync/status"
REFRESH_PATH = "/api/gitsync/refresh"
VALIDATE_PATH = "/api/gitsync/validate"
TOKEN_ENV = "GITSYNC_TOKEN"
NOT_WATCHED = "NOT_WATCHED"  # the error code of an agent asked about what it does not watch


class AgentClient:
    """``url``: the agent's API root, e.g. ``http://127.0.0.1:19071``."""

    def __init__(self, url: str, *, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        parts = urlsplit(self.url)
        try:
            self._port = parts.port
        except ValueError:
            parts = parts._replace(scheme="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineUnavailable(f"the agent URL {self.url!r} is not an http(s):// URL")
        self._parts = parts
        self._httpx: Any = None  # an httpx.Client, for https:// only, built on first use

    def validate(
        self,
        archive: bytes,
        revision: str,
        *,
        timeout_s: float,
        about: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Validate a ``git archive --format=tar.gz`` as the agent would deploy it."""
        return self._post(
            VALIDATE_PATH,
            timeout_s,
            content=archive,
            params={"revision": revision, **(about or {})},
            content_type="application/gzip",
        )

    def refresh(self, *, wait_s: float, about: dict[str, str] | None = None) -> dict[str, Any]:
        """Ask for a reconcile and wait up to ``wait_s`` for it; the status after it."""
        params = {"wait": "true", "timeout": f"{wait_s:g}", **(about or {})}
        return self._post(REFRESH_PATH, wait_s + 5, params=params)

    def close(self) -> None:
        if self._httpx is not None:
            self._httpx.close()
            self._httpx = None

    def _post(
        self,
        path: str,
        timeout_s: float,
        *,
        params: dict[str, str],
        content: bytes = b"",
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        headers = {**self._headers, "Content-Type": content_type}
        if self._parts.scheme == "http":
            status, body = self._post_plain(path, params, content, headers, timeout_s)
        else:
            status, body = self._post_tls(path, params, content, headers, timeout_s)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise EngineUnavailable(
                f"{self.url}{path} answered {status} with something that is "
                f"not the agent's JSON: {body[:200]!r}"
            )
        if status == 409 and data.get("error-code") == NOT_WATCHED:
            return data
        if status >= 300:
            message = str(data.get("message") or "")
            raise GitsyncError(f"{self.url}{path} answered {status}: {message}")
        return data

    def _post_plain(
        self,
        path: str,
        params: dict[str, str],
        content: bytes,
        headers: dict[str, str],
        timeout_s: float,
    ) -> tuple[int, bytes]:
        import http.client

        parts = self._parts
        target = f"{parts.path.rstrip('/')}{path}?{urlencode(params)}"
        connection = http.client.HTTPConnection(parts.hostname or "", self._port, timeout=timeout_s)
        try:
            connection.request("POST", target, body=content, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnavailable(
                f"the agent at {self.url} cannot be reached: {exc or type(exc).__name__}"
            ) from exc
        finally:
            connection.close()

    def _post_tls(
        self,
        path: str,
        params: dict[str, str],
        content: bytes,
        headers: dict[str, str],
        timeout_s: float,
    ) -> tuple[int, bytes]:
        import httpx

        if self._httpx is None:
            # trust_env=False: the agent is asked directly, never through a proxy.
            self._httpx = httpx.Client(base_url=self.url, trust_env=False)
        try:
            response = self._httpx.post(
                path, params=params, content=content, headers=headers, timeout=timeout_s
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailable(
                f"the agent at {self.url} cannot be reached: {exc or type(exc).__name__}"
            ) from exc
        return response.status_code, response.content

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
