"""The few calls the Ray runtime makes to a Ray dashboard (ray-serve.md §4).

Every failure (connection refused, timeout, a non-200 answer) becomes
``RuntimeUnavailable`` carrying Ray's own text, so the runtime can report it as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from gitsync.engine.ray_auth import endpoint
from gitsync.engine.records import JsonDict
from gitsync.errors import RuntimeUnavailable
from gitsync.redact import redact_text

APPLICATIONS = "/api/serve/applications/"  # the trailing slash is required
_PACKAGES = "/api/packages/gcs/"
_MAX_MESSAGE = 2000


def _failure(what: str, response: httpx.Response) -> RuntimeUnavailable:
    text = response.text.strip()
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "…"
    text = redact_text(text)
    return RuntimeUnavailable(f"Ray {what} failed with status {response.status_code}: {text}")


class Backoff:
    """Doubling delays between retries, from ``first`` up to ``limit``."""

    def __init__(self, first: float, limit: float) -> None:
        self.first, self.limit, self.current = first, limit, first

    def next(self) -> float:
        delay, self.current = self.current, min(self.current * 2, self.limit)
        return delay

    def reset(self) -> None:
        self.current = self.first


class RayClient:
    """A Ray dashboard at ``address`` (``http://127.0.0.1:8265``)."""

    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        target = endpoint(address)
        self.address = target.display  # what messages show: no credentials
        # No browser-like headers: the dashboard refuses PUT from browsers (§4.1).
        self._http = httpx.Client(
            base_url=target.url,
            timeout=timeout,
            trust_env=False,
            headers=target.headers,
            auth=target.basic_auth,
        )

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            detail = redact_text(str(exc))
            raise RuntimeUnavailable(
                f"Ray dashboard at {self.address} is unreachable ({what}): {detail}"
            ) from None

    def get_applications(self) -> JsonDict:
        """``GET /api/serve/applications/``: ServeInstanceDetails."""
        response = self._call("status", "GET", APPLICATIONS)
        if response.status_code != 200:
            raise _failure("status", response)
        try:
            body = response.json()
        except ValueError as exc:
            raise RuntimeUnavailable(f"Ray status answer is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise RuntimeUnavailable("Ray status answer is not a JSON object")
        return body

    def put_applications(self, config: Mapping[str, Any]) -> None:
        """``PUT /api/serve/applications/``: the whole declarative config."""
        response = self._call("deploy", "PUT", APPLICATIONS, json=dict(config))
        if response.status_code != 200:
            raise _failure("deploy", response)

    def delete_applications(self) -> None:
        """``DELETE /api/serve/applications/``: shuts Serve down."""
        response = self._call("shutdown", "DELETE", APPLICATIONS)
        if response.status_code != 200:
            raise _failure("shutdown", response)

    def has_package(self, name: str) -> bool:
        """``GET /api/packages/gcs/<name>``: 200 once uploaded, 404 before."""
        response = self._call("package check", "GET", _PACKAGES + name)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise _failure("package check", response)

    def upload_package(self, name: str, data: bytes) -> None:
        """``PUT /api/packages/gcs/<name>`` (the route ``ray job submit`` uses)."""
        response = self._call("package upload", "PUT", _PACKAGES + name, content=data)
        if response.status_code != 200:
            raise _failure("package upload", response)

    def close(self) -> None:
        self._http.close()
