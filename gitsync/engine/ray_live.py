"""Pure helpers of the Ray runtime: one declarative config from many units, Ray's
status as live records, drift, and the health gate's verdict.

Ray holds one declarative config for the whole cluster (a PUT replaces it), while the
engine holds one per deployment unit: the runtime sends the union of all units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitsync.engine.records import AppId, AppLive, DeployedApp, DeploymentLive, JsonDict

_INSTANCE_KEYS = (
    "proxy_location",
    "http_options",
    "grpc_options",
    "logging_config",
    "target_capacity",
)
FAILED_STATUSES = ("DEPLOY_FAILED", "UNHEALTHY")


def merge_units(units: Mapping[AppId, JsonDict]) -> JsonDict:
    """The union of the units' configs; instance options come from the first unit (in
    sorted order) that sets each of them."""
    merged: JsonDict = {}
    apps: list[JsonDict] = []
    for unit in sorted(units, key=lambda u: (u.tenant, u.application, u.instance)):
        config = units[unit]
        for key in _INSTANCE_KEYS:
            if key in config and key not in merged:
                merged[key] = config[key]
        apps.extend(config.get("applications") or [])
    merged["applications"] = apps
    return merged


def app_names(config: Mapping[str, Any] | None) -> list[str]:
    return [str(a.get("name", "default")) for a in (config or {}).get("applications") or []]


def other_names(units: Mapping[AppId, Mapping[str, Any]], app: AppId) -> list[str]:
    """The Serve applications of the units other than ``app`` (not its drift)."""
    return [name for other, config in units.items() if other != app for name in app_names(config)]


def comparable(ray_app_config: Mapping[str, Any], global_logging: Any) -> JsonDict:
    """Ray's ``deployed_app_config`` without the global ``logging_config`` it copies in,
    so it compares equal to what was sent."""
    out = dict(ray_app_config)
    if "logging_config" in out and out["logging_config"] == global_logging:
        del out["logging_config"]
    return out


def _sent_apps(config: Mapping[str, Any]) -> dict[str, JsonDict]:
    return {str(a.get("name", "default")): a for a in config.get("applications") or []}


def _deployment_live(details: Mapping[str, Any]) -> DeploymentLive:
    replicas = details.get("replicas") or []
    return DeploymentLive(
        name=str(details.get("name", "")),
        status=str(details.get("status", "UPDATING")),
        status_trigger=str(details.get("status_trigger", "UNSPECIFIED")),
        message=str(details.get("message", "")),
        deployment_config=dict(details.get("deployment_config") or {}),
        target_num_replicas=int(details.get("target_num_replicas") or 0),
        replicas=[dict(r) for r in replicas if isinstance(r, Mapping)],
        raw=dict(details),
    )


def app_live(details: Mapping[str, Any], global_logging: Any) -> AppLive:
    """One ``ApplicationDetails`` of Ray as a live record (Ray's own messages as is)."""
    deployments = details.get("deployments") or {}
    return AppLive(
        name=str(details.get("name", "")),
        route_prefix=details.get("route_prefix"),
        status=str(details.get("status", "NOT_STARTED")),
        message=str(details.get("message", "")),
        last_deployed_time_s=float(details.get("last_deployed_time_s") or 0.0),
        deployed_app_config=comparable(details.get("deployed_app_config") or {}, global_logging),
        deployments=[_deployment_live(d) for d in deployments.values() if isinstance(d, Mapping)],
        raw=dict(details),
    )


#: What gitsync says while Ray has not yet answered with a unit's new config.
DEPLOYING_MESSAGE = "Generation {generation} is being deployed to Ray; Ray has not reported it yet."


def _deploying(item: DeployedApp, details: Mapping[str, Any] | None, error: str | None) -> AppLive:
    """The desired config, with statuses saying it is deploying (read-your-writes)."""
    message = DEPLOYING_MESSAGE.format(generation=item.generation)
    if error:
        message = f"{message}\n{error}"
    ray_deployments = (details or {}).get("deployments") or {}
    deployments = [
        DeploymentLive(
            name=str(d.get("name", "")),
            status="UPDATING",
            status_trigger="CONFIG_UPDATE_STARTED",
            message=str(d.get("message", "")),
            deployment_config=dict(d.get("deployment_config") or {}),
            target_num_replicas=int(d.get("target_num_replicas") or 0),
            replicas=[dict(r) for r in d.get("replicas") or [] if isinstance(r, Mapping)],
        )
        for d in ray_deployments.values()
        if isinstance(d, Mapping)
    ]
    if not deployments:
        deployments = [
            DeploymentLive(
                name=str(entry.get("name", "")),
                status="UPDATING",
                status_trigger="CONFIG_UPDATE_STARTED",
                message="",
                deployment_config={k: v for k, v in entry.items() if k != "name"},
                target_num_replicas=0,
            )
            for entry in item.config.get("deployments") or []
            if isinstance(entry, Mapping)
        ]
    return AppLive(
        item.name,
        item.route_prefix,
        "DEPLOYING",
        message,
        item.last_deployed_time_s,
        dict(item.config),
        deployments,
    )


def unit_live(
    ray_state: Mapping[str, Any] | None,
    deployed: Sequence[DeployedApp],
    sent: Mapping[str, Any] | None,
    error: str | None,
    *,
    fresh: bool = True,
) -> list[AppLive]:
    """The engine's active Serve applications as Ray reports them, Ray's messages
    unchanged. Until Ray has answered with the config ``sent`` for an application
    (``fresh``: the answer came after the last PUT settled), the desired config is
    shown as DEPLOYING. An application Ray does not list then is NOT_STARTED."""
    global_logging = (sent or {}).get("logging_config")
    ray_apps = (ray_state or {}).get("applications") or {}
    out: list[AppLive] = []
    for item in deployed:
        details = ray_apps.get(item.name)
        details = details if isinstance(details, Mapping) else None
        if not fresh:
            out.append(_deploying(item, details, error))
        elif details is not None:
            live = app_live(details, global_logging)
            if error:
                live = _with_message(live, f"{live.message}\n{error}".strip())
            out.append(live)
        else:
            message = error or "Not deployed on Ray."
            out.append(
                AppLive(
                    item.name, item.route_prefix, "NOT_STARTED", message, 0.0, dict(item.config), []
                )
            )
    return out


_INSTANCE_SKIP = ("applications",)


def instance_fields(ray_state: Mapping[str, Any]) -> JsonDict:
    """Ray's instance-level details without its applications: controller_info (with
    its log_file_path), proxies, proxy_location/http_options/grpc_options as Serve
    runs them, target_groups, target_capacity and whatever else Ray reports there."""
    return {key: value for key, value in ray_state.items() if key not in _INSTANCE_SKIP}


def _with_message(live: AppLive, message: str) -> AppLive:
    return AppLive(
        live.name,
        live.route_prefix,
        live.status,
        message,
        live.last_deployed_time_s,
        live.deployed_app_config,
        live.deployments,
        None if live.raw is None else {**live.raw, "message": message},
    )


def drift(
    sent: Mapping[str, Any], ray_state: Mapping[str, Any], other_units: Iterable[str] = ()
) -> list[str]:
    """How Ray's declarative config differs from ``sent`` (one unit's config as sent to
    Ray). Applications of ``other_units`` are not this unit's business."""
    global_logging = sent.get("logging_config")
    ray_apps = ray_state.get("applications") or {}
    wanted = _sent_apps(sent)
    problems: list[str] = []
    for name, app in wanted.items():
        details = ray_apps.get(name)
        if not isinstance(details, Mapping):
            problems.append(f"application '{name}' is missing on Ray")
            continue
        live_config = comparable(details.get("deployed_app_config") or {}, global_logging)
        if live_config != app:
            problems.append(f"application '{name}' differs on Ray from the active generation")
    known = set(wanted) | set(other_units)
    for name, details in sorted(ray_apps.items()):
        declarative = isinstance(details, Mapping) and details.get("source") == "declarative"
        if name not in known and declarative:
            problems.append(f"application '{name}' is on Ray but not in the active generation")
    return problems


def gate_verdict(
    names: Sequence[str], sent: Mapping[str, Any], ray_state: Mapping[str, Any]
) -> tuple[bool, str] | None:
    """(healthy, message) once every application in ``names`` is RUNNING with the sent
    config, or one of them failed with it; None while undecided."""
    global_logging = sent.get("logging_config")
    wanted = _sent_apps(sent)
    ray_apps = ray_state.get("applications") or {}
    waiting = False
    for name in names:
        details = ray_apps.get(name)
        if not isinstance(details, Mapping) or name not in wanted:
            waiting = True
            continue
        live_config = comparable(details.get("deployed_app_config") or {}, global_logging)
        if live_config != wanted[name]:
            waiting = True  # Ray still shows an older config
            continue
        status = details.get("status")
        if status in FAILED_STATUSES:
            why = app_live(details, global_logging).explanation()
            return False, f"application '{name}' is {status}: {why}".strip()
        if status != "RUNNING":
            waiting = True
    if waiting:
        return None
    return True, "All changed applications are RUNNING." if names else "No application changed."


def waiting_on(names: Sequence[str], ray_state: Mapping[str, Any] | None) -> str:
    """Which gated applications are not RUNNING, for a timeout message."""
    ray_apps = (ray_state or {}).get("applications") or {}
    parts = []
    for name in names:
        details = ray_apps.get(name)
        if not isinstance(details, Mapping):
            parts.append(f"'{name}' is absent")
            continue
        status = details.get("status")
        if status != "RUNNING":
            why = app_live(details, None).explanation()
            parts.append(f"'{name}' is {status}" + (f": {why}" if why else ""))
    return ", ".join(parts) or "Ray did not confirm the new config"
