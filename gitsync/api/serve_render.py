"""Render the engine's live state in the shapes of Ray Serve's REST API.

``ServeInstanceDetails`` (``GET /api/serve/applications/``) is parsed strictly by the
``serve`` CLI: no extra keys at the instance, application and deployment levels,
every required key present, enums spelled exactly (ray-serve.md §3-4). The V1 shapes
(``ServeApplicationSchema`` and ``ServeStatusSchema``) are those of the older API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gitsync.config.model import NESTED_DEFAULTS
from gitsync.engine import AppLive, DeploymentLive, ServeState
from gitsync.engine.records import JsonDict

#: What Ray answers when no Serve instance runs (checked live, ray-serve.md §3).
EMPTY_INSTANCE: JsonDict = {
    "controller_info": {},
    "proxies": {},
    "applications": {},
    "target_capacity": None,
}
_CODE_KEYS = ("working_dir", "py_modules")


def route_prefix_problem(prefix: str | None) -> str | None:
    """Ray's ``validate_route_prefix`` rule, which ``ApplicationDetails`` enforces."""
    if prefix is None:
        return None
    if not prefix.startswith("/"):
        return f"route_prefix must start with '/', got '{prefix}'"
    if prefix != "/" and prefix.endswith("/"):
        return f"route_prefix must not end with '/' unless it is exactly '/', got '{prefix}'"
    if "{" in prefix or "}" in prefix:
        return f"route_prefix may not contain wildcards, got '{prefix}'"
    return None


def package_uri(state: ServeState, path: str) -> str:
    """A package-local code directory (``./fruit``) as the ``gcs://`` URI a Ray runtime
    uploads it under; Ray's schema accepts only URIs there."""
    digest = hashlib.sha256(f"{state.app.serialized()}:{state.generation}:{path}".encode())
    return f"gcs://_gitsync_pkg_{digest.hexdigest()[:16]}.zip"


def _remote(state: ServeState, value: Any) -> Any:
    if isinstance(value, str) and "://" not in value:
        return package_uri(state, value)
    return value


def ray_runtime_env(state: ServeState, env: Any) -> Any:
    """``runtime_env`` with local code paths turned into URIs."""
    if not isinstance(env, Mapping):
        return env
    out = dict(env)
    for key in _CODE_KEYS:
        if key == "working_dir" and key in out:
            out[key] = _remote(state, out[key])
        elif key in out and isinstance(out[key], list):
            out[key] = [_remote(state, item) for item in out[key]]
    return out


def _deployment_entry(state: ServeState, entry: Mapping[str, Any]) -> JsonDict:
    out = dict(entry)
    options = out.get("ray_actor_options")
    if isinstance(options, Mapping) and "runtime_env" in options:
        out["ray_actor_options"] = {
            **options,
            "runtime_env": ray_runtime_env(state, options["runtime_env"]),
        }
    return out


def deployed_app_config(state: ServeState, app: AppLive) -> JsonDict:
    """The user's keys, the global ``logging_config`` copied in (as Ray does), local
    code paths as URIs."""
    config = dict(app.deployed_app_config)
    global_logging = (state.config or {}).get("logging_config")
    if global_logging is not None and "logging_config" not in config:
        config["logging_config"] = global_logging
    if "runtime_env" in config:
        config["runtime_env"] = ray_runtime_env(state, config["runtime_env"])
    if isinstance(config.get("deployments"), list):
        config["deployments"] = [
            _deployment_entry(state, d) if isinstance(d, Mapping) else d
            for d in config["deployments"]
        ]
    return config


def required_resources(config: Mapping[str, Any]) -> JsonDict:
    options = config.get("ray_actor_options")
    options = options if isinstance(options, Mapping) else {}
    cpus = options.get("num_cpus")
    out: JsonDict = {"CPU": cpus if isinstance(cpus, int | float) else 1}
    for key, name in (("num_gpus", "GPU"), ("memory", "memory")):
        value = options.get(key)
        if isinstance(value, int | float) and value:
            out[name] = value
    resources = options.get("resources")
    if isinstance(resources, Mapping):
        out.update(resources)
    return out


def deployment_details(state: ServeState, dep: DeploymentLive) -> JsonDict:
    if dep.raw is not None:
        return dict(dep.raw)  # Ray's own answer, replicas and messages as Ray gave them
    config = _deployment_entry(state, {"name": dep.name, **dep.deployment_config})
    return {
        "name": dep.name,
        "status": dep.status,
        "status_trigger": dep.status_trigger,
        "message": dep.message,
        "deployment_config": config,
        "target_num_replicas": max(dep.target_num_replicas, 0),
        "required_resources": required_resources(config),
        "replicas": [dict(replica) for replica in dep.replicas],
    }


def application_details(state: ServeState, app: AppLive) -> JsonDict:
    if app.raw is not None:
        return dict(app.raw)  # Ray's own answer (docs_path, deployment_topology, ...)
    problem = route_prefix_problem(app.route_prefix)
    config = deployed_app_config(state, app)
    details: JsonDict = {
        "name": app.name,
        "route_prefix": app.route_prefix,
        "docs_path": None,
        "status": app.status,
        "message": app.message,
        "last_deployed_time_s": app.last_deployed_time_s,
        "deployed_app_config": config,
        "source": "declarative",
        "deployments": {dep.name: deployment_details(state, dep) for dep in app.deployments},
        "external_scaler_enabled": bool(config.get("external_scaler_enabled", False)),
    }
    if problem is not None:
        # What Ray reports after a failed build: no route, no deployments.
        details.update(route_prefix=None, status="DEPLOY_FAILED", message=problem, deployments={})
    return details


def controller_info(node_id: str) -> JsonDict:
    return {
        "node_id": node_id,
        "node_ip": "127.0.0.1",
        "actor_id": node_id[:32],
        "actor_name": "SERVE_CONTROLLER_ACTOR",
        "worker_id": node_id[-32:],
        "log_file_path": None,
    }


def _serve_runs_on_ray(state: ServeState) -> bool:
    controller = (state.instance or {}).get("controller_info")
    return isinstance(controller, dict) and bool(controller.get("node_id"))


def instance_details(state: ServeState, node_id: str, api_type: str | None = None) -> JsonDict:
    """``ServeInstanceDetails`` for one deployment unit. ``api_type="imperative"`` lists
    no application (all are declarative).

    With Ray running Serve, the instance-level fields are Ray's own (controller_info,
    proxies, the start-only options as Serve runs them, target_groups), even when this
    unit holds nothing (so ``serve shutdown`` finds the instance, as against Ray).
    Otherwise they come from the config this unit holds; Ray's empty shape when none."""
    apps = [] if api_type == "imperative" else state.applications
    if _serve_runs_on_ray(state):
        assert state.instance is not None
        return {
            **state.instance,
            "applications": {app.name: application_details(state, app) for app in apps},
        }
    if state.config is None:
        return dict(EMPTY_INSTANCE)
    config = state.config
    return {
        "controller_info": controller_info(node_id),
        "proxy_location": config.get("proxy_location", "EveryNode"),
        "http_options": {**NESTED_DEFAULTS["http_options"], **(config.get("http_options") or {})},
        "grpc_options": {**NESTED_DEFAULTS["grpc_options"], **(config.get("grpc_options") or {})},
        "proxies": {},
        "applications": {app.name: application_details(state, app) for app in apps},
        "target_capacity": config.get("target_capacity"),
    }


# -- V1 (single application) ---------------------------------------------------------------

V1_EMPTY_CONFIG: JsonDict = {"import_path": "", "runtime_env": {}, "deployments": []}
V1_APP_NAME = "default"


def v1_config(state: ServeState) -> JsonDict:
    """``GET /api/serve/deployments/``: the single application's config as it was PUT
    (``host``/``port`` back from ``http_options``); Ray's empty schema when none."""
    if state.config is None or not state.applications:
        return dict(V1_EMPTY_CONFIG)
    apps = {app.name: app for app in state.applications}
    app = apps.get(V1_APP_NAME, state.applications[0])
    config = dict(app.deployed_app_config)
    http = state.config.get("http_options") or {}
    for key in ("host", "port"):
        if key in http:
            config[key] = http[key]
    return config


_APP_RANK = ["RUNNING", "DELETING", "NOT_STARTED", "DEPLOYING", "UNHEALTHY", "DEPLOY_FAILED"]


def v1_status(state: ServeState) -> JsonDict:
    """``GET /api/serve/deployments/status``: the V1 ``ServeStatusSchema``."""
    if state.config is None or not state.applications:
        return {
            "app_status": {"status": "NOT_STARTED", "message": "", "deployment_timestamp": 0},
            "deployment_statuses": [],
        }
    worst = max(
        state.applications, key=lambda a: _APP_RANK.index(a.status) if a.status in _APP_RANK else 0
    )
    single = len(state.applications) == 1
    return {
        "app_status": {
            "status": worst.status,
            "message": worst.message,
            "deployment_timestamp": max(a.last_deployed_time_s for a in state.applications),
        },
        "deployment_statuses": [
            {
                "name": dep.name if single else f"{app.name}_{dep.name}",
                "status": dep.status,
                "message": dep.message,
            }
            for app in state.applications
            for dep in app.deployments
        ],
    }
