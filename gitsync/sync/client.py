"""A remote engine over HTTP, with the same interface as the embedded one.

Speaks gitsync's own routes (``/api/gitsync/v1/...``), which carry what the Vespa and
Serve APIs have no room for: source revisions and commit metadata, code digests,
history and rollback. httpx errors, and answers that do not parse as the API's JSON
(``wire`` raises KeyError, TypeError or ValueError on them), become EngineUnavailable;
error bodies in the ``{"error-code", "message"}`` form become the matching GitsyncError.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from gitsync import errors
from gitsync.config import package
from gitsync.engine.records import DeploySource, HistoryEntry
from gitsync.sync import wire
from gitsync.sync.target import Applied, LiveView

_ERRORS_BY_CODE: dict[str, type[errors.GitsyncError]] = {
    "BAD_REQUEST": errors.BadRequest,
    "NOT_FOUND": errors.NotFound,
    "ACTIVATION_CONFLICT": errors.ActivationConflict,
    "APPLICATION_LOCK_FAILURE": errors.LockHeld,
    "PRECONDITION_FAILED": errors.PruneRefused,
    "UNAUTHORIZED": errors.Unauthorized,
    "FORBIDDEN": errors.Forbidden,
    "METHOD_NOT_ALLOWED": errors.MethodNotAllowed,
    "REQUEST_TIMEOUT": errors.RequestTimeout,
}
SOURCE_HEADER = "X-Gitsync-Source"
T = TypeVar("T")


class RemoteEngine:
    """``--engine URL``: the engine API of another process."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 60.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise errors.BadRequest(
                f"--engine must be an http:// or https:// URL, got {base_url!r}"
            )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def _unit(self, tenant: str, application: str) -> str:
        return f"/api/gitsync/v1/tenant/{quote(tenant, safe='')}/application/{quote(application, safe='')}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise errors.EngineUnavailable(
                f"cannot reach the engine at {self.base_url} ({type(exc).__name__}): start one "
                "there (`gitsync engine --listen HOST:PORT`, or an agent: `bash scripts/run.sh`) "
                "or point --engine / GITSYNC_ENGINE at a running one"
            ) from exc
        if response.status_code != 200:
            raise _error_from(response)
        try:
            return response.json()
        except ValueError as exc:
            raise self._not_the_api(method, path, exc) from exc

    def _read(self, method: str, path: str, parse: Callable[[Any], T], **kwargs: Any) -> T:
        """Call, then parse the answer; a body of the wrong shape is EngineUnavailable."""
        data = self._call(method, path, **kwargs)
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._not_the_api(method, path, exc) from exc

    def _not_the_api(self, method: str, path: str, exc: Exception) -> errors.EngineUnavailable:
        return errors.EngineUnavailable(
            f"engine at {self.base_url} answered {method} {path} with something that is not "
            f"gitsync's API ({type(exc).__name__}: {exc})"
        )

    def live(self, tenant: str, application: str) -> LiveView:
        return self._read("GET", self._unit(tenant, application) + "/live", wire.live_from_json)

    def deploy(
        self,
        files: Mapping[str, bytes],
        *,
        tenant: str,
        application: str,
        source: DeploySource,
        force: bool = False,
    ) -> Applied:
        body = package.build_zip(dict(files))
        header = json.dumps({"revision": source.revision, "meta": dict(source.meta)})
        return self._read(
            "POST",
            self._unit(tenant, application) + "/deploy",
            _applied,
            content=body,
            params={"force": "true"} if force else {},
            headers={"Content-Type": "application/zip", SOURCE_HEADER: header},
        )

    def history(self, tenant: str, application: str) -> list[HistoryEntry]:
        return self._read("GET", self._unit(tenant, application) + "/history", _history)

    def rollback(self, tenant: str, application: str, generation: int | None) -> Applied:
        params = {"generation": str(generation)} if generation is not None else {}
        path = self._unit(tenant, application) + "/rollback"
        return self._read("POST", path, _applied, params=params)

    def reapply(self, tenant: str, application: str) -> int:
        path = self._unit(tenant, application) + "/reapply"
        return self._read("POST", path, lambda data: int(data["generation"]))

    def close(self) -> None:
        self._http.close()


def _applied(data: Any) -> Applied:
    return Applied(
        int(data["generation"]), int(data["previousActiveGeneration"]), bool(data["activated"])
    )


def _history(data: Any) -> list[HistoryEntry]:
    return [wire.history_from_json(entry) for entry in data]


def _error_from(response: httpx.Response) -> errors.GitsyncError:
    try:
        body = response.json()
        code, message = str(body["error-code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:500]
        return errors.EngineUnavailable(f"engine answered {response.status_code}: {text}")
    if code == "INVALID_APPLICATION_PACKAGE":
        return errors.InvalidConfig([], message)
    error = _ERRORS_BY_CODE.get(code, errors.EngineUnavailable)(message)
    return error
