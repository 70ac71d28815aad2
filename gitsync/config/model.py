"""Frozen records of a Ray Serve deploy config, with Serve's defaults filled in.

``from_config`` turns a validated, JSON-compatible config into a ``DeployConfig``
whose values are canonical: defaults written out or left out give the same record,
applications and deployment overrides are sorted by name, nested values are private
plain copies typed read-only (``Mapping``: never mutate them). Each ``Application`` carries a
fingerprint of everything that matters to Ray, so a diff can skip the unchanged
ones with one string comparison. ``to_config`` is the inverse, minus the defaults.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

JSONMap = Mapping[str, Any]
EMPTY: JSONMap = MappingProxyType({})

# Serve's defaults (reference/ray-serve.md §1). Only objects whose defaults hold
# wherever they appear are listed; values follow the lax coercions (20.0 == 20).
_LOGGING: JSONMap = {
    "encoding": "TEXT",
    "log_level": "INFO",
    "logs_dir": None,
    "enable_access_log": True,
    "additional_log_standard_attrs": [],
}
NESTED_DEFAULTS: Mapping[str, JSONMap] = {
    "http_options": {
        "host": "0.0.0.0",
        "port": 8000,
        "root_path": "",
        "request_timeout_s": None,
        "keep_alive_timeout_s": 90,
        "ssl_keyfile": None,
        "ssl_certfile": None,
        "ssl_keyfile_password": None,
        "ssl_ca_certs": None,
    },
    "grpc_options": {
        "port": 9000,
        "grpc_servicer_functions": [],
        "request_timeout_s": None,
        "enable_reflection": True,
    },
    "logging_config": _LOGGING,
    # A set ray_actor_options replaces the code's options entirely; num_cpus then is 1.
    "ray_actor_options": {
        "runtime_env": {},
        "num_cpus": 1,
        "num_gpus": None,
        "memory": None,
        "resources": {},
        "accelerator_type": None,
        "label_selector": None,
        "fallback_strategy": None,
    },
    "backpressure_config": {"status_code": 503, "retry_after_s": None},
    # max_replicas is left out: its default is 1 for a dict, 100 with num_replicas "auto".
    "autoscaling_config": {
        "min_replicas": 1,
        "initial_replicas": None,
        "target_ongoing_requests": 2,
        "metrics_interval_s": 10,
        "look_back_period_s": 30,
        "smoothing_factor": 1,
        "upscale_smoothing_factor": None,
        "downscale_smoothing_factor": None,
        "upscaling_factor": None,
        "downscaling_factor": None,
        "downscale_delay_s": 600,
        "downscale_to_zero_delay_s": None,
        "upscale_delay_s": 30,
        "aggregation_function": "mean",
    },
    "request_router_config": {
        "request_router_kwargs": {},
        "request_routing_stats_period_s": 10,
        "request_routing_stats_timeout_s": 30,
        "initial_backoff_s": 0.025,
        "backoff_multiplier": 2,
        "max_backoff_s": 0.5,
    },
    "gang_scheduling_config": {
        "gang_placement_strategy": "PACK",
        "runtime_failure_policy": "RESTART_GANG",
    },
}
# User data: kept exactly as written (1.0 stays a float, "TOKEN" stays upper-case).
OPAQUE_KEYS = frozenset(
    {
        "user_config",
        "args",
        "runtime_env",
        "autoscaling_policy",
        "policy",
        "request_router_kwargs",
        "deployment_actors",
        "label_selector",
        "fallback_strategy",
    }
)
_LOG_LEVELS = {0: "NOTSET", 10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
_NO_DIGESTS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment override: ``options`` holds only the options the config sets."""

    name: str
    options: JSONMap = field(default_factory=lambda: EMPTY)
    code_digest: str | None = None  # local code under ray_actor_options.runtime_env


@dataclass(frozen=True, slots=True)
class Application:
    name: str
    import_path: str
    route_prefix: str | None = "/"
    runtime_env: JSONMap = field(default_factory=lambda: EMPTY)
    args: JSONMap = field(default_factory=lambda: EMPTY)
    autoscaling_policy: JSONMap | None = None
    logging_config: JSONMap | None = None
    external_scaler_enabled: bool = False
    deployments: tuple[Deployment, ...] = ()
    code_digest: str | None = None
    fingerprint: str = field(init=False, compare=False, repr=False)  # digest of app_view()

    def __post_init__(self) -> None:
        text = json.dumps(app_view(self), sort_keys=True, separators=(",", ":"), default=dict)
        digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        object.__setattr__(self, "fingerprint", digest)


@dataclass(frozen=True, slots=True)
class DeployConfig:
    applications: tuple[Application, ...] = ()
    proxy_location: str = "EveryNode"
    http_options: JSONMap = field(
        default_factory=lambda: _canonical(NESTED_DEFAULTS["http_options"])
    )
    grpc_options: JSONMap = field(
        default_factory=lambda: _canonical(NESTED_DEFAULTS["grpc_options"])
    )
    logging_config: JSONMap | None = None
    tracing_config: JSONMap | None = None
    target_capacity: float | None = None
    controller_options: JSONMap | None = None

    def instance_view(self) -> dict[str, Any]:
        """The instance options, keyed as in the config."""
        return {
            "proxy_location": self.proxy_location,
            "http_options": self.http_options,
            "grpc_options": self.grpc_options,
            "logging_config": self.logging_config,
            "tracing_config": self.tracing_config,
            "target_capacity": self.target_capacity,
            "controller_options": self.controller_options,
        }


def deployment_view(deployment: Deployment) -> JSONMap:
    """The options of a deployment, plus its code digest when it has local code."""
    if deployment.code_digest is None:
        return deployment.options
    return {**deployment.options, "code_digest": deployment.code_digest}


def app_view(app: Application) -> dict[str, Any]:
    """Everything of an application that Ray acts on, keyed as in the config (no name)."""
    return {
        "route_prefix": app.route_prefix,
        "import_path": app.import_path,
        "runtime_env": app.runtime_env,
        "args": app.args,
        "autoscaling_policy": app.autoscaling_policy,
        "logging_config": app.logging_config,
        "external_scaler_enabled": app.external_scaler_enabled,
        "code_digest": app.code_digest,
        "deployments": {d.name: deployment_view(d) for d in app.deployments},
    }


def thaw(value: Any) -> Any:
    """A plain JSON copy (dicts and lists) of any mapping/sequence value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def _canonical(value: Any, coerce: bool = True) -> Any:
    """Copy ``value``; outside user data, a whole float becomes an int (Serve's lax mode)."""
    # Plain types are tested first: an isinstance() against an ABC is slow on hot paths.
    if isinstance(value, dict):
        return {k: _canonical(v, coerce and k not in OPAQUE_KEYS) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, coerce) for v in value]
    if isinstance(value, float):
        return int(value) if coerce and value.is_integer() else value
    if isinstance(value, str | int) or value is None:
        return value
    if isinstance(value, Mapping):
        return _canonical(dict(value), coerce)
    return value


def fill_defaults(key: str, value: Any) -> Any:
    """Canonical form of option ``key``: Serve's defaults laid under what is set."""
    value = _canonical(value, key not in OPAQUE_KEYS)
    defaults = NESTED_DEFAULTS.get(key)
    if defaults is None or not isinstance(value, dict):
        return value
    filled = {**_canonical(defaults, key not in OPAQUE_KEYS), **value}
    if key == "logging_config":
        level = filled["log_level"]
        if isinstance(level, int) and not isinstance(level, bool):
            filled["log_level"] = _LOG_LEVELS.get(level, level)
        filled["additional_log_standard_attrs"] = sorted(
            set(filled["additional_log_standard_attrs"])
        )
    elif key == "ray_actor_options" and filled["num_cpus"] is None:
        filled["num_cpus"] = 1  # what Serve sets at apply time
    elif key == "autoscaling_config" and isinstance(filled["aggregation_function"], str):
        filled["aggregation_function"] = filled["aggregation_function"].lower()
    return filled


def strip_defaults(key: str, value: Any) -> Any:
    """The inverse of ``fill_defaults``: drop the keys that hold Serve's default."""
    defaults = NESTED_DEFAULTS.get(key)
    if defaults is None or not isinstance(value, Mapping):
        return thaw(value)
    return {k: thaw(v) for k, v in value.items() if k not in defaults or thaw(v) != defaults[k]}


def normalize_code_path(path: str) -> str:
    """``./fruit/`` → ``fruit``; the snapshot root is ``.``."""
    path = path.strip()
    while path.startswith("./"):
        path = path[2:].lstrip("/")
    return path.rstrip("/") or "."


def _is_local(uri: Any) -> bool:
    return isinstance(uri, str) and "://" not in uri


def _local_code(runtime_env: dict[str, Any], digests: Mapping[str, str]) -> str | None:
    """Normalise local code paths in ``runtime_env`` (in place) and combine their digests."""
    entries: list[str] = []
    if _is_local(runtime_env.get("working_dir")):
        runtime_env["working_dir"] = normalize_code_path(runtime_env["working_dir"])
        entries.append(f"working_dir={runtime_env['working_dir']}")
    modules = runtime_env.get("py_modules")
    if isinstance(modules, list):
        runtime_env["py_modules"] = [normalize_code_path(m) if _is_local(m) else m for m in modules]
        entries += [f"py_modules={m}" for m in runtime_env["py_modules"] if _is_local(m)]
    if not entries:
        return None
    # An unknown digest counts as "": both sides then agree only on the path.
    text = "\n".join(f"{e}:{digests.get(e.split('=', 1)[1], '')}" for e in entries)
    return hashlib.sha256(text.encode()).hexdigest()


def _deployment(raw: Mapping[str, Any], digests: Mapping[str, str]) -> Deployment:
    options = {k: fill_defaults(k, v) for k, v in raw.items() if k != "name"}
    code_digest = None
    actor = options.get("ray_actor_options")
    if isinstance(actor, dict) and isinstance(actor.get("runtime_env"), dict):
        code_digest = _local_code(actor["runtime_env"], digests)
    return Deployment(name=raw["name"], options=options, code_digest=code_digest)


def _application(raw: Mapping[str, Any], digests: Mapping[str, str]) -> Application:
    runtime_env = _canonical(raw.get("runtime_env") or {}, coerce=False)
    code_digest = _local_code(runtime_env, digests)
    # Duplicate deployment names: the last one wins, as in Serve.
    by_name = {d["name"]: _deployment(d, digests) for d in raw.get("deployments") or ()}
    logging_config = raw.get("logging_config")
    return Application(
        name=raw.get("name", "default"),
        import_path=raw["import_path"],
        route_prefix=raw.get("route_prefix", "/"),  # null: not exposed over HTTP
        runtime_env=runtime_env,
        args=_canonical(raw.get("args") or {}, coerce=False),
        autoscaling_policy=_canonical(raw.get("autoscaling_policy"), coerce=False),
        logging_config=None
        if logging_config is None
        else fill_defaults("logging_config", logging_config),
        external_scaler_enabled=bool(raw.get("external_scaler_enabled", False)),
        deployments=tuple(by_name[name] for name in sorted(by_name)),
        code_digest=code_digest,
    )


def _optional(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    return None if value is None else fill_defaults(key, value)


def from_config(
    config: Mapping[str, Any], code_digests: Mapping[str, str] = _NO_DIGESTS
) -> DeployConfig:
    """Build the canonical record of a validated deploy config.

    ``code_digests`` maps local code paths, relative to the snapshot root, to digests;
    an app's ``code_digest`` combines those of its local ``working_dir``/``py_modules``.
    """
    digests = {normalize_code_path(k): v for k, v in code_digests.items()}
    apps = [_application(a, digests) for a in config.get("applications") or ()]
    target = config.get("target_capacity")
    return DeployConfig(
        applications=tuple(sorted(apps, key=lambda a: a.name)),
        proxy_location=config.get("proxy_location") or "EveryNode",
        http_options=fill_defaults("http_options", config.get("http_options") or {}),
        grpc_options=fill_defaults("grpc_options", config.get("grpc_options") or {}),
        logging_config=_optional(config, "logging_config"),
        tracing_config=_optional(config, "tracing_config"),
        target_capacity=None if target is None else _canonical(float(target)),
        controller_options=_optional(config, "controller_options"),
    )


def _app_config(app: Application) -> dict[str, Any]:
    out: dict[str, Any] = {"name": app.name, "import_path": app.import_path}
    if app.route_prefix != "/":
        out["route_prefix"] = app.route_prefix
    for key in ("runtime_env", "args"):
        if getattr(app, key):
            out[key] = thaw(getattr(app, key))
    if app.autoscaling_policy is not None:
        out["autoscaling_policy"] = thaw(app.autoscaling_policy)
    if app.logging_config is not None:
        out["logging_config"] = strip_defaults("logging_config", app.logging_config)
    if app.external_scaler_enabled:
        out["external_scaler_enabled"] = True
    if app.deployments:
        out["deployments"] = [
            {"name": d.name, **{k: strip_defaults(k, v) for k, v in d.options.items()}}
            for d in app.deployments
        ]
    return out


def to_config(config: DeployConfig) -> dict[str, Any]:
    """The plain config to send to Ray: only values that differ from Serve's defaults
    (an option a deployment sets is always kept: it overrides the code)."""
    out: dict[str, Any] = {}
    if config.proxy_location != "EveryNode":
        out["proxy_location"] = config.proxy_location
    for key in ("http_options", "grpc_options"):
        stripped = strip_defaults(key, getattr(config, key))
        if stripped:
            out[key] = stripped
    for key in ("logging_config", "tracing_config", "controller_options"):
        if getattr(config, key) is not None:
            out[key] = strip_defaults(key, getattr(config, key))
    if config.target_capacity is not None:
        out["target_capacity"] = config.target_capacity
    out["applications"] = [_app_config(a) for a in config.applications]
    return out
