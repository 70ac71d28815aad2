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
from gitsync.engine.unit_leases import UnitLease
from gitsync.sync import wire
from gitsync.sync.target import Applied, LeaseToken, LiveView

_ERRORS_BY_CODE: dict[str, type[errors.GitsyncError]] = {
    "BAD_REQUEST": errors.BadRequest,
    "NOT_FOUND": errors.NotFound,
    "ACTIVATION_CONFLICT": errors.ActivationConflict,
    "APPLICATION_LOCK_FAILURE": errors.LockHeld,
    "LEASE_HELD": errors.LeaseHeld,
    "PRECONDITION_FAILED": errors.PruneRefused,
    "UNAUTHORIZED": errors.Unauthorized,
    "FORBIDDEN": errors.Forbidden,
    "METHOD_NOT_ALLOWED": errors.MethodNotAllowed,
    "REQUEST_TIMEOUT": errors.RequestTimeout,
}
SOURCE_HEADER = "X-Gitsync-Source"
LEASE_HEADER = "X-Gitsync-Lease"
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
        lease: LeaseToken | None = None,
    ) -> Applied:
        body = package.build_zip(dict(files))
        header = json.dumps({"revision": source.revision, "meta": dict(source.meta)})
        return self._read(
            "POST",
            self._unit(tenant, application) + "/deploy",
            _applied,
            content=body,
            params={"force": "true"} if force else {},
            headers={"Content-Type": "application/zip", SOURCE_HEADER: header, **_fence(lease)},
        )

    def history(self, tenant: str, application: str) -> list[HistoryEntry]:
        return self._read("GET", self._unit(tenant, application) + "/history", _history)

    def rollback(self, tenant: str, application: str, generation: int | None) -> Applied:
        params = {"generation": str(generation)} if generation is not None else {}
        path = self._unit(tenant, application) + "/rollback"
        return self._read("POST", path, _applied, params=params)

    def reapply(self, tenant: str, application: str, lease: LeaseToken | None = None) -> int:
        path = self._unit(tenant, application) + "/reapply"
        parse = lambda data: int(data["generation"])  # noqa: E731
        return self._read("POST", path, parse, headers=_fence(lease))

    def lease(self, tenant: str, application: str) -> UnitLease | None:
        path = self._unit(tenant, application) + "/lease"
        return self._read("GET", path, lambda data: _lease(data["lease"]))

    def claim_lease(
        self,
        tenant: str,
        application: str,
        *,
        holder: str,
        ttl_s: float,
        epoch: int | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> UnitLease:
        body = {"holder": holder, "ttlSeconds": ttl_s, "epoch": epoch, "info": dict(info or {})}
        path = self._unit(tenant, application) + "/lease"
        return self._read("POST", path, UnitLease.from_json, json=body)

    def release_lease(self, tenant: str, application: str, *, holder: str, epoch: int) -> None:
        path = self._unit(tenant, application) + "/lease"
        try:
            response = self._http.delete(path, params={"holder": holder, "epoch": str(epoch)})
        except httpx.HTTPError as exc:
            raise errors.EngineUnavailable(
                f"cannot reach the engine at {self.base_url} ({type(exc).__name__})"
            ) from exc
        if response.status_code != 204:
            raise _error_from(response)

    def close(self) -> None:
        self._http.close()


def _applied(data: Any) -> Applied:
    return Applied(
        int(data["generation"]), int(data["previousActiveGeneration"]), bool(data["activated"])
    )


def _fence(lease: LeaseToken | None) -> dict[str, str]:
    if lease is None:
        return {}
    return {LEASE_HEADER: json.dumps({"holder": lease.holder, "epoch": lease.epoch})}


def _lease(data: Any) -> UnitLease | None:
    return None if data is None else UnitLease.from_json(data)


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
    if code == "LEASE_HELD":
        lease = body.get("lease")
        return errors.LeaseHeld(message, lease if isinstance(lease, dict) else None)
    error = _ERRORS_BY_CODE.get(code, errors.EngineUnavailable)(message)
    return error
