"""Ray 2.60's scale endpoint:
``POST /api/v1/applications/{app}/deployments/{dep}/scale`` with
``{"target_num_replicas": N}``.

Status codes and JSON bodies are Ray's (``scale_deployment`` in
``ray/dashboard/modules/serve/serve_head.py``, ``update_deployment_replicas`` in
``ray/serve/_private/controller.py``): 400 bad body, 503 when no Serve instance runs,
404 unknown application or deployment, 412 when the application does not enable
external scaling or the deployment is being deleted, 200 once accepted.

In gitsync a scale is a change to the declarative config, never a side door: the
active package is copied, the deployment's ``num_replicas`` set, and the result
prepared and activated as a new generation whose source says ``scale`` (the plan
classes the change ``scale``). An agent watching git then sees the live generation
differ from its source: it reports drift, and with ``--self-heal`` reverts it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gitsync.api import serve_body
from gitsync.api.common import call, context, json_response, parse_json, read_body
from gitsync.config import package
from gitsync.config import settings as settings_file
from gitsync.config.snapshot import Snapshot
from gitsync.engine import (
    SERVE_API_CONFIG_FILE,
    ActivateResult,
    DeploySource,
    DirListing,
    Engine,
    FileContent,
)
from gitsync.engine.records import JsonDict
from gitsync.errors import GitsyncError, NotFound

ACCEPTED = "Scaling request received. Deployment will get scaled asynchronously."
_MODEL = "ScaleDeploymentRequest"
#: Ray keeps a scale outside the config; gitsync writes it into the config, where
#: ``num_replicas`` must be at least 1 (Ray's own schema says so).
ZERO_REFUSED = (
    "target_num_replicas 0 cannot be written into the declarative config (num_replicas "
    "must be at least 1): remove the application from the config instead"
)
_TENANT = "default"
_UNIT = "default"


class ScaleRefused(Exception):
    """An answer other than 200, in Ray's shape ``{"error": ...}``."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def target_replicas(body: bytes) -> int:
    """The body's ``target_num_replicas``: an int of at least 0 (stricter than Ray's
    lax pydantic: no numeric strings, floats or booleans)."""

    def invalid(message: str) -> ScaleRefused:
        return ScaleRefused(
            400, f"Invalid request body: 1 validation error for {_MODEL}\n{message}"
        )

    try:
        data = parse_json(body)
    except GitsyncError as exc:
        raise ScaleRefused(400, f"Invalid request body: {exc.message}") from exc
    if not isinstance(data, dict):
        raise ScaleRefused(
            400, f"Invalid request body: the body must be a JSON object, got {type(data).__name__}"
        )
    if "target_num_replicas" not in data:
        raise invalid("target_num_replicas\n  Field required")
    value = data["target_num_replicas"]
    if type(value) is not int:
        raise invalid(f"target_num_replicas\n  Input should be a valid integer, got {value!r}")
    if value < 0:
        raise invalid("target_num_replicas\n  Input should be greater than or equal to 0")
    return value


def _external_scaler_disabled(app: str, deployment: str) -> str:
    return (
        f"Cannot update replicas for deployment '{deployment}' in application '{app}'. "
        "The external scaling API can only be used when 'external_scaler_enabled' is set "
        "to true in the application configuration. Current value: "
        "external_scaler_enabled=false. To use this API, redeploy your application with "
        "'external_scaler_enabled: true' in the config."
    )


def scaled_config(config: Mapping[str, Any], app: str, deployment: str, replicas: int) -> JsonDict:
    """``config`` with ``num_replicas`` of one deployment set (its entry added if the
    config did not list it)."""
    out = json.loads(json.dumps(config))
    for entry in out.get("applications") or []:
        if str(entry.get("name", "default")) != app:
            continue
        deployments = entry.setdefault("deployments", [])
        for dep in deployments:
            if isinstance(dep, dict) and dep.get("name") == deployment:
                dep["num_replicas"] = replicas
                break
        else:
            deployments.append({"name": deployment, "num_replicas": replicas})
    result: JsonDict = out
    return result


def _read(engine: Engine, path: str) -> bytes | None:
    try:
        found = engine.get_application_content(_TENANT, _UNIT, "default", path)
    except NotFound:
        return None
    return found.data if isinstance(found, FileContent) else None


def scale(engine: Engine, app: str, deployment: str, replicas: int) -> ActivateResult:
    """Check as Ray does, then activate the scaled config as a new generation."""
    state = engine.live(_TENANT, _UNIT)
    if state.config is None:
        raise ScaleRefused(503, "Serve controller is not available")
    entries = {str(a.get("name", "default")): a for a in state.config.get("applications") or []}
    if app not in entries:
        raise ScaleRefused(404, "Application or Deployment not found")
    if entries[app].get("external_scaler_enabled") is not True:
        raise ScaleRefused(412, _external_scaler_disabled(app, deployment))
    live = {a.name: a for a in state.applications}.get(app)
    known = {d.name: d for d in live.deployments} if live else {}
    listed = {str(d.get("name")) for d in entries[app].get("deployments") or [] if d}
    if deployment not in known and deployment not in listed:
        raise ScaleRefused(404, "Application or Deployment not found")
    if deployment in known and known[deployment].status_trigger == "DELETING":
        raise ScaleRefused(412, "Deployment is deleted")
    if replicas == 0:
        raise ScaleRefused(400, ZERO_REFUSED)
    return _activate_scaled(engine, state.config, app, deployment, replicas)


def _activate_scaled(
    engine: Engine, config: Mapping[str, Any], app: str, deployment: str, replicas: int
) -> ActivateResult:
    """The active package, copied, reads one config file: the scaled whole config.
    Code directories stay as they are (same digests: no restart)."""
    listing = engine.get_application_content(_TENANT, _UNIT, "default", "")
    entries = listing.entries if isinstance(listing, DirListing) else []
    name = (
        serve_body.V1_CONFIG_FILE if serve_body.V1_CONFIG_FILE in entries else SERVE_API_CONFIG_FILE
    )
    settings_bytes = _read(engine, settings_file.SETTINGS_FILE)
    settings: dict[str, Any] = {}
    if settings_bytes is not None:
        settings = dict(
            settings_file.read_settings(Snapshot("", {settings_file.SETTINGS_FILE: settings_bytes}))
        )
    settings["config"] = {"files": [name]}
    text = json.dumps(scaled_config(config, app, deployment, replicas), indent=2, sort_keys=True)
    session = engine.create_session_from_application(_TENANT, _UNIT)
    engine.put_content(_TENANT, session.session_id, name, text.encode())
    engine.put_content(
        _TENANT, session.session_id, settings_file.SETTINGS_FILE, json.dumps(settings).encode()
    )
    engine.prepare(_TENANT, session.session_id)
    source = DeploySource(
        revision=package.sha256_hex(text.encode()),
        meta={
            "via": "Serve REST",
            "source": "scale",
            "message": f"scale {app}/{deployment} to {replicas} replica(s) "
            "(POST /api/v1/applications/…/scale)",
        },
    )
    return engine.activate(_TENANT, session.session_id, source=source)


async def scale_deployment(request: Request) -> Response:
    app = request.path_params["application_name"]
    deployment = request.path_params["deployment_name"]
    ctx = context(request)
    try:
        replicas = target_replicas(await read_body(request))
        await call(scale, ctx.engine, app, deployment, replicas)
    except ScaleRefused as refused:
        return json_response({"error": refused.error}, refused.status)
    except GitsyncError as exc:
        # The scaled config could not be activated (a conflict with a concurrent
        # deploy, a refused prepare): the engine's reason, in Ray's error shape.
        return json_response({"error": exc.message}, exc.http_status)
    ctx.metrics.activation("activated")
    return json_response({"message": ACCEPTED})
