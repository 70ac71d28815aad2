"""A running agent's API, as the git hooks ask it (httpx, the project's one HTTP client).

Transport failures and answers that are not the agent's JSON become
EngineUnavailable (the hook then does the work itself); an error the agent answers
becomes a GitsyncError with the agent's message. A request may name the repository it
is about (``about``): an agent watching anything else then does nothing and answers
NOT_WATCHED with its source, which is returned as the answer (the hook does the work
itself), so a hook needs no status request first.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

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
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # trust_env=False: a loopback agent is never reached through a proxy. Plain http
        # needs no certificates: loading them is most of the cost of building a client.
        verify = self.url.startswith("https://")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, trust_env=False, verify=verify
        )

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
            headers={"Content-Type": "application/gzip"},
        )

    def status(self, *, timeout_s: float = 10.0) -> dict[str, Any]:
        """The agent's status (``GET /api/gitsync/status``): its source, its last sync."""
        try:
            response = self._http.get(STATUS_PATH, timeout=timeout_s)
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise EngineUnavailable(f"the agent at {self.url} cannot be reached: {exc}") from exc
        if response.status_code != 200 or not isinstance(data, dict):
            raise EngineUnavailable(f"{self.url}{STATUS_PATH} answered {response.status_code}")
        return data

    def refresh(self, *, wait_s: float, about: dict[str, str] | None = None) -> dict[str, Any]:
        """Ask for a reconcile and wait up to ``wait_s`` for it; the status after it."""
        params = {"wait": "true", "timeout": f"{wait_s:g}", **(about or {})}
        return self._post(REFRESH_PATH, wait_s + 5, params=params)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, timeout_s: float, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.post(path, timeout=timeout_s, **kwargs)
        except httpx.HTTPError as exc:
            raise EngineUnavailable(
                f"the agent at {self.url} cannot be reached: {exc or type(exc).__name__}"
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise EngineUnavailable(
                f"{self.url}{path} answered {response.status_code} with something that is "
                f"not the agent's JSON: {response.text[:200]!r}"
            )
        if response.status_code == 409 and data.get("error-code") == NOT_WATCHED:
            return data
        if response.status_code >= 300:
            message = str(data.get("message") or "")
            raise GitsyncError(f"{self.url}{path} answered {response.status_code}: {message}")
        return data

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
