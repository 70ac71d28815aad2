"""Cross-field rules: what JSON Schema cannot say about a deploy config.

Each rule mirrors a Ray validator (``ray/serve/schema.py``) or a check Ray only makes
at apply time, when a bad config has already been accepted. Rules look only at values
of the shape they expect: wrong shapes are the schema's to report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from gitsync.config.issues import Finding, JsonPath

DEFAULT_APP_NAME = "default"
DEFAULT_ROUTE_PREFIX = "/"


class CodeRefs:
    """The working_dir and py_modules strings that are not URIs, with their paths, as
    the rules met them: the loader checks them against the snapshot without walking
    every application again. ``complete`` once the walk has seen them all. (A plain
    class: a hook's process builds no dataclass at import.)"""

    __slots__ = ("found", "complete")

    def __init__(
        self, found: list[tuple[JsonPath, str]] | None = None, complete: bool = False
    ) -> None:
        self.found: list[tuple[JsonPath, str]] = [] if found is None else found
        self.complete = complete


def check(config: Any, code_refs: CodeRefs | None = None) -> list[Finding]:
    refs = code_refs.found if code_refs is not None else None
    findings: list[Finding] = []
    if isinstance(config, Mapping):
        findings.extend(_http_options(config.get("http_options"), ("http_options",)))
        apps = config.get("applications")
        if isinstance(apps, list):
            findings.extend(_unique_apps(apps))
            for index, app in enumerate(apps):
                if type(app) is dict:
                    findings.extend(_application(app, ("applications", index), refs))
    if code_refs is not None:
        code_refs.complete = True
    return findings


def _http_options(options: Any, path: JsonPath) -> Iterator[Finding]:
    if not isinstance(options, Mapping):
        return
    cert, key = options.get("ssl_certfile"), options.get("ssl_keyfile")
    if cert and not key:
        yield Finding((*path, "ssl_certfile"), "ssl_certfile needs ssl_keyfile", rule="ssl-pair")
    if key and not cert:
        # Ray lets a lone keyfile through and then serves plain HTTP.
        yield Finding((*path, "ssl_keyfile"), "ssl_keyfile needs ssl_certfile", rule="ssl-pair")


MAX_NAME_LENGTH = 256
# Control characters, C1 controls and bidi overrides: a name must read as it is.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def name_problem(name: str) -> str | None:
    """Why an application or deployment name cannot be used, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
    if _UNPRINTABLE.search(name):
        return "holds a control or bidirectional-override character"
    return None


def _name_finding(path: JsonPath, name: Any, what: str) -> Finding | None:
    why = name_problem(name) if isinstance(name, str) else None
    return None if why is None else Finding(path, f"{what} name {why}", rule="name-format")


def _needs_name_check(name: Any) -> bool:
    """False for the usual name, with a test cheaper than :func:`name_problem`'s regex:
    every character it refuses is one ``str.isprintable`` refuses too."""
    return isinstance(name, str) and (len(name) > MAX_NAME_LENGTH or not name.isprintable())


def _unique_apps(apps: list[Any]) -> Iterator[Finding]:
    names: dict[str, int] = {}
    routes: dict[str, int] = {}
    for index, app in enumerate(apps):
        if not isinstance(app, Mapping):
            continue
        name = app.get("name", DEFAULT_APP_NAME)
        if _needs_name_check(name):
            bad_name = _name_finding(("applications", index, "name"), name, "application")
            if bad_name is not None:
                yield bad_name
        if isinstance(name, str):
            if name in names:
                where = (
                    ("applications", index, "name") if "name" in app else ("applications", index)
                )
                yield Finding(
                    where,
                    f"application name {name!r} is already used by {{related}}"
                    + (
                        ""
                        if "name" in app
                        else " (an application without a name is called 'default')"
                    ),
                    rule="unique-app-name",
                    related=("applications", names[name]),
                )
            else:
                names[name] = index
        route = app.get("route_prefix", DEFAULT_ROUTE_PREFIX)
        if isinstance(route, str):
            if route in routes:
                where = (
                    ("applications", index, "route_prefix")
                    if "route_prefix" in app
                    else ("applications", index)
                )
                yield Finding(
                    where,
                    f"route_prefix {route!r} is already used by {{related}}"
                    + ("" if "route_prefix" in app else " (the default route_prefix is '/')"),
                    rule="unique-route-prefix",
                    related=("applications", routes[route]),
                )
            else:
                routes[route] = index


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_uri(ref: str) -> bool:
    """``scheme://...``: a remote working_dir or py_modules entry, not a local path."""
    return _URI.match(ref) is not None


def absolute_code_path_message(ref: str) -> str:
    return f"{ref!r} is an absolute path: use a path relative to the repository root, or a URI"


LocalRefs = list[tuple[JsonPath, str]] | None  # where the walk puts local code refs


def may_name_local_code(env: dict[str, Any]) -> bool:
    """A cheap first test (no path built): can this runtime_env name a local directory?
    Not when its working_dir is a URI and it has no py_modules, as with most."""
    ref = env.get("working_dir")
    return (isinstance(ref, str) and not is_uri(ref)) or "py_modules" in env


def _runtime_env(env: Any, path: JsonPath, local: LocalRefs) -> Iterator[Finding]:
    """Ray refuses local paths; gitsync carries relative ones, but never absolute ones.
    The local ones go to ``local`` too, when given."""
    if type(env) is not dict or ("working_dir" not in env and "py_modules" not in env):
        return
    refs: list[tuple[JsonPath, Any]] = [((*path, "working_dir"), env.get("working_dir"))]
    modules = env.get("py_modules")
    if isinstance(modules, list):
        refs.extend(((*path, "py_modules", i), m) for i, m in enumerate(modules))
    for where, ref in refs:
        if isinstance(ref, str) and not is_uri(ref):
            if local is not None:
                local.append((where, ref))
            if ref.startswith("/"):
                yield Finding(where, absolute_code_path_message(ref), rule="local-code-path")


def _application(app: Mapping[str, Any], path: JsonPath, local: LocalRefs) -> list[Finding]:
    """Rules for one application; written for speed (10,000 apps x 5 deployments)."""
    found: list[Finding] = []
    env = app.get("runtime_env")
    if type(env) is dict and may_name_local_code(env):
        found.extend(_runtime_env(env, (*path, "runtime_env"), local))
    for key in ("host", "port"):
        if key in app:
            found.append(
                Finding(
                    (*path, key),
                    f"{key!r} is not allowed inside an application: set http_options.{key} instead",
                    rule="app-host-port",
                    at_key=True,
                )
            )
    deployments = app.get("deployments")
    if type(deployments) is not list:
        return found
    seen: dict[str, int] = {}
    external = app.get("external_scaler_enabled") is True
    for index, deployment in enumerate(deployments):
        if type(deployment) is not dict:
            continue
        name = deployment.get("name")
        if _needs_name_check(name):
            bad_name = _name_finding((*path, "deployments", index, "name"), name, "deployment")
            if bad_name is not None:
                found.append(bad_name)
        if type(name) is str:
            if name in seen:
                found.append(
                    Finding(
                        (*path, "deployments", index, "name"),
                        f"deployment {name!r} is listed twice (first at deployments[{seen[name]}]); "
                        "Ray would silently keep only the last one",
                        rule="duplicate-deployment",
                    )
                )
            else:
                seen[name] = index
        if external or _worth_a_look(deployment):
            where = (*path, "deployments", index)
            found.extend(_deployment(deployment, where, external, local))
    return found


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _worth_a_look(dep: dict[str, Any]) -> bool:
    """A cheap test that skips the common deployment with nothing to check."""
    if "autoscaling_config" in dep or not _RARE_KEYS.isdisjoint(dep):
        return True
    if type(dep.get("num_replicas")) is float or type(dep.get("max_queued_requests")) is float:
        return True
    actor = dep.get("ray_actor_options")
    return type(actor) is dict and "runtime_env" in actor


# Keys whose presence calls for a closer look; most deployments have none of them.
_RARE_KEYS = frozenset(
    {
        "gang_scheduling_config",
        "placement_group_bundles",
        "placement_group_strategy",
        "placement_group_bundle_label_selector",
        "deployment_actors",
    }
)


def _deployment(
    dep: Mapping[str, Any], path: JsonPath, external_scaler: bool, local: LocalRefs
) -> Iterator[Finding]:
    replicas = dep.get("num_replicas")
    autoscaling = dep.get("autoscaling_config")
    if isinstance(replicas, float):
        yield Finding(
            (*path, "num_replicas"), f'num_replicas must be an integer or "auto", got {replicas!r}'
        )
    if autoscaling is not None and _is_int(replicas):
        yield Finding(
            (*path, "num_replicas"),
            "num_replicas is a fixed number, so autoscaling_config must not be set "
            '(use num_replicas: "auto" to autoscale)',
            rule="num-replicas-autoscaling",
        )
    if external_scaler and (replicas == "auto" or autoscaling is not None):
        yield Finding(
            path,
            "external_scaler_enabled is set on the application, so this deployment must not autoscale",
            rule="external-scaler",
        )
    if isinstance(dep.get("max_queued_requests"), float):
        yield Finding(
            (*path, "max_queued_requests"),
            f"max_queued_requests must be an integer, got {dep['max_queued_requests']!r}",
        )
    if isinstance(autoscaling, Mapping):
        yield from _autoscaling(autoscaling, (*path, "autoscaling_config"))
    actor = dep.get("ray_actor_options")
    if isinstance(actor, dict) and "runtime_env" in actor:
        where = (*path, "ray_actor_options", "runtime_env")
        yield from _runtime_env(actor["runtime_env"], where, local)
    if _RARE_KEYS.isdisjoint(dep):
        return
    yield from _gang(dep, replicas, autoscaling, path)
    yield from _placement(dep, path)
    yield from _deployment_actors(dep.get("deployment_actors"), (*path, "deployment_actors"))


def _autoscaling(cfg: Mapping[str, Any], path: JsonPath) -> Iterator[Finding]:
    low, high, start = (
        cfg.get("min_replicas", 1),
        cfg.get("max_replicas"),
        cfg.get("initial_replicas"),
    )
    if not all(_is_int(v) or v is None for v in (low, high, start)):
        return
    if high is not None and low is not None and low > high:
        yield Finding(
            (*path, "min_replicas"),
            f"min_replicas ({low}) must not be greater than max_replicas ({high})",
            rule="autoscaling-bounds",
        )
    if start is not None:
        if low is not None and start < low:
            yield Finding(
                (*path, "initial_replicas"),
                f"initial_replicas ({start}) must not be less than min_replicas ({low})",
                rule="autoscaling-bounds",
            )
        if high is not None and start > high:
            yield Finding(
                (*path, "initial_replicas"),
                f"initial_replicas ({start}) must not be greater than max_replicas ({high})",
                rule="autoscaling-bounds",
            )
    look_back, interval = cfg.get("look_back_period_s"), cfg.get("metrics_interval_s")
    if (
        isinstance(look_back, int | float)
        and isinstance(interval, int | float)
        and look_back <= interval
    ):
        yield Finding(
            (*path, "look_back_period_s"),
            f"look_back_period_s ({look_back}) should be greater than metrics_interval_s ({interval})",
            "warning",
            "autoscaling-bounds",
        )


def _gang(
    dep: Mapping[str, Any], replicas: Any, autoscaling: Any, path: JsonPath
) -> Iterator[Finding]:
    gang = dep.get("gang_scheduling_config")
    if not isinstance(gang, Mapping) or not _is_int(gang.get("gang_size")) or gang["gang_size"] < 1:
        return
    size = gang["gang_size"]
    if _is_int(replicas) and replicas % size:
        yield Finding(
            (*path, "num_replicas"),
            f"num_replicas ({replicas}) must be a multiple of gang_size ({size})",
            rule="gang-size",
        )
    if replicas == "auto" and isinstance(autoscaling, Mapping):
        for key in ("min_replicas", "max_replicas", "initial_replicas"):
            value = autoscaling.get(key)
            if _is_int(value) and value % size:
                yield Finding(
                    (*path, "autoscaling_config", key),
                    f"{key} ({value}) must be a multiple of gang_size ({size})",
                    rule="gang-size",
                )
    for key in ("max_replicas_per_node", "placement_group_strategy"):
        if key in dep:
            yield Finding(
                (*path, key),
                f"{key} cannot be combined with gang_scheduling_config",
                rule="gang-size",
            )


def _placement(dep: Mapping[str, Any], path: JsonPath) -> Iterator[Finding]:
    bundles = dep.get("placement_group_bundles")
    has_bundles = isinstance(bundles, list) and len(bundles) > 0
    if has_bundles and "max_replicas_per_node" in dep:
        yield Finding(
            (*path, "max_replicas_per_node"),
            "max_replicas_per_node cannot be combined with placement_group_bundles",
            rule="placement-group",
        )
    if "placement_group_strategy" in dep and not has_bundles:
        yield Finding(
            (*path, "placement_group_strategy"),
            "placement_group_strategy needs placement_group_bundles",
            rule="placement-group-strategy",
        )
    selector = dep.get("placement_group_bundle_label_selector")
    if isinstance(selector, list) and selector:
        if not has_bundles:
            yield Finding(
                (*path, "placement_group_bundle_label_selector"),
                "placement_group_bundle_label_selector needs placement_group_bundles",
                rule="placement-group",
            )
        elif isinstance(bundles, list) and len(selector) not in (1, len(bundles)):
            yield Finding(
                (*path, "placement_group_bundle_label_selector"),
                f"placement_group_bundle_label_selector must have 1 entry or one per bundle "
                f"({len(bundles)}), got {len(selector)}",
                rule="placement-group",
            )


def _deployment_actors(actors: Any, path: JsonPath) -> Iterator[Finding]:
    if not isinstance(actors, list):
        return
    seen: set[str] = set()
    for index, actor in enumerate(actors):
        name = actor.get("name") if isinstance(actor, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                yield Finding(
                    (*path, index, "name"),
                    f"deployment actor {name!r} is listed twice",
                    rule="duplicate-deployment-actor",
                )
            seen.add(name)
