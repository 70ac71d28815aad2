"""Differential test: gitsync's validator against Ray's own (`ServeDeploySchema`).

A generated corpus of valid deploy configs (plain dicts, realistic options from
reference/ray-serve.md §1.5) and single mutations of them. For every example and for
both of gitsync's entry points (``validate_config`` on a plain dict, and the loader on
a one-file snapshot holding the config as YAML):

Both entry points run in ``warn`` mode for unknown keys, which is Ray's own contract
(what the Serve REST API keeps); the default ``error`` mode (``test_unknown_keys_*``)
rejects every unknown key that Ray would drop, with rule ``unknown-key``.

* whatever Ray rejects, gitsync rejects (zero false accepts);
* whatever Ray accepts, gitsync accepts, unless the mutation falls under one of the
  rules where gitsync is deliberately stricter (configs Ray accepts and then fails to
  deploy). Each mutation names
  the rules that may reject it; every such rule must be in ``STRICTER_RULES``.

Each mutation also records what Ray 2.60 does with it, so the corpus cannot drift into
testing something other than what it says.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gitsync.config.loader import load_snapshot
from gitsync.config.schema import UnknownKeys, validate_config
from gitsync.config.snapshot import Snapshot

ray_schema = pytest.importorskip("ray.serve.schema")

Config = dict[str, Any]
Pick = Callable[[Sequence[Any]], Any]
Entry = Literal["dict", "file"]
ENTRIES: tuple[Entry, ...] = ("dict", "file")

# Rules under which gitsync rejects configs that Ray's schema accepts (Ray would fail later).
STRICTER_RULES = frozenset(
    {
        "route-prefix-format",
        "autoscaling-bounds",
        "max-replicas-per-node",
        "placement-group-strategy",
        "duplicate-deployment",
        "ray-actor-options-key",
        "lax-coercion",
        "schema",
    }
)
LAX = frozenset({"lax-coercion", "schema"})
AUTOSCALING_DICT = frozenset({"autoscaling-bounds", "schema"})

# Shrinking a failure here takes minutes (every example runs Ray's validator); the
# failure message prints the whole config and the mutation's name instead.
CORPUS_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
)


# --------------------------------------------------------------------------- verdicts


def ray_accepts(config: Config) -> bool:
    """Ray's verdict. Any exception counts as a rejection: Ray's before-validators
    raise AttributeError or NotImplementedError on some inputs (REST answers 500)."""
    try:
        ray_schema.ServeDeploySchema.model_validate(copy.deepcopy(config))
    except Exception:
        return False
    return True


def gitsync_error_rules(
    config: Config, entry: Entry, unknown_keys: UnknownKeys = "warn"
) -> list[str]:
    """The rules of gitsync's errors (warnings do not reject) through one entry point."""
    if entry == "dict":
        issues = validate_config(copy.deepcopy(config), unknown_keys)
    else:
        text = yaml.safe_dump(config, sort_keys=False).encode()
        snapshot = Snapshot("differential", {"serve.yaml": text})
        issues = load_snapshot(snapshot, unknown_keys=unknown_keys).issues
    return [issue.rule for issue in issues if issue.severity == "error"]


def check_agreement(config: Config, label: str, stricter: frozenset[str], entry: Entry) -> None:
    ray_ok = ray_accepts(config)
    rules = gitsync_error_rules(config, entry)
    shown = f"{label} (via {entry})\n{json.dumps(config, indent=1, sort_keys=True)}"
    if not ray_ok:
        assert rules, f"false accept: Ray rejects, gitsync accepts: {shown}"
        return
    unexpected = sorted(set(rules) - stricter)
    assert not unexpected, f"gitsync rejects what Ray accepts, rules {unexpected}: {shown}"
    if stricter:  # these Ray accepts and then fails at deploy time
        assert rules, f"gitsync accepts what it should reject ({sorted(stricter)}): {shown}"


# ------------------------------------------------------------------ valid configs

APP_NAMES = st.sampled_from(
    ["fruit_stand", "calculator", "summarizer", "translator", "ranker", "ocr", "chat", "embed2"]
)
DEPLOYMENT_NAMES = st.sampled_from(
    ["MangoStand", "FruitMarket", "Adder", "Ingress", "Tokenizer", "Model", "Router", "Cache"]
)
FLOATS_POS = st.sampled_from([0.5, 1, 2.5, 5, 10, 30])
ENV_VARS = st.dictionaries(
    st.sampled_from(["LOG_LEVEL", "MODEL_ID", "REGION", "OMP_NUM_THREADS"]),
    st.sampled_from(["1", "true", "info", "us-west-2"]),
    max_size=3,
)
USER_CONFIG = st.dictionaries(
    st.sampled_from(["price", "threshold", "model", "batch_size", "enabled"]),
    st.one_of(st.integers(0, 100), st.sampled_from(["v1", "v2"]), st.booleans()),
    max_size=3,
)
LOGGING = st.fixed_dictionaries(
    {},
    optional={
        "encoding": st.sampled_from(["TEXT", "JSON"]),
        "log_level": st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR", 20, 30]),
        "logs_dir": st.just("/tmp/serve-logs"),
        "enable_access_log": st.booleans(),
        "additional_log_standard_attrs": st.just(["name"]),
    },
)
RAY_ACTOR_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "num_cpus": st.sampled_from([0, 0.5, 1, 2]),
        "num_gpus": st.sampled_from([0, 1]),
        "memory": st.sampled_from([2**28, 2**30]),
        "resources": st.just({"custom_accelerator": 1}),
        "runtime_env": st.builds(lambda env: {"env_vars": env}, ENV_VARS),
        "label_selector": st.just({"region": "us-west"}),
    },
)


@st.composite
def autoscaling(draw: st.DrawFn) -> Config:
    low = draw(st.integers(0, 3))
    high = draw(st.integers(max(low, 1), 10))
    conf: Config = {"min_replicas": low, "max_replicas": high}
    if draw(st.booleans()):
        conf["initial_replicas"] = draw(st.integers(low, high))
    extras = {
        "target_ongoing_requests": FLOATS_POS,
        "upscale_delay_s": st.sampled_from([0, 10, 30]),
        "downscale_delay_s": st.sampled_from([60, 600]),
        "look_back_period_s": st.sampled_from([30, 60]),
        "aggregation_function": st.sampled_from(["mean", "max", "min"]),
    }
    for key, strategy in extras.items():
        if draw(st.booleans()):
            conf[key] = draw(strategy)
    return conf


@st.composite
def deployment(draw: st.DrawFn, name: str) -> Config:
    dep: Config = {"name": name}
    mode = draw(st.sampled_from(["unset", "int", "auto", "autoscaling_only", "gang"]))
    if mode == "int":
        dep["num_replicas"] = draw(st.integers(1, 8))
    elif mode == "auto":
        dep["num_replicas"] = "auto"
        if draw(st.booleans()):
            dep["autoscaling_config"] = draw(autoscaling())
    elif mode == "autoscaling_only":
        dep["autoscaling_config"] = draw(autoscaling())
    elif mode == "gang":
        size = draw(st.integers(1, 3))
        dep["num_replicas"] = size * draw(st.integers(1, 3))
        dep["gang_scheduling_config"] = {"gang_size": size, "gang_placement_strategy": "PACK"}
    placement = "none" if mode == "gang" else draw(st.sampled_from(["none", "bundles", "node"]))
    if placement == "bundles":
        dep["placement_group_bundles"] = [{"CPU": 1}, {"CPU": 0.5}]
        if draw(st.booleans()):
            strategies = ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]
            dep["placement_group_strategy"] = draw(st.sampled_from(strategies))
    elif placement == "node":
        dep["max_replicas_per_node"] = draw(st.integers(1, 100))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "max_ongoing_requests": st.integers(1, 200),
        "max_queued_requests": st.one_of(st.just(-1), st.integers(1, 1000)),
        "user_config": USER_CONFIG,
        "graceful_shutdown_wait_loop_s": st.sampled_from([0, 1, 2]),
        "graceful_shutdown_timeout_s": st.sampled_from([0, 5, 20]),
        "health_check_period_s": FLOATS_POS,
        "health_check_timeout_s": FLOATS_POS,
        "ray_actor_options": RAY_ACTOR_OPTIONS,
        "logging_config": LOGGING,
        "backpressure_config": st.fixed_dictionaries(
            {"status_code": st.sampled_from([503, 429])},
            optional={"retry_after_s": st.sampled_from([None, 0, 5])},
        ),
        "request_router_config": st.just({"request_routing_stats_period_s": 5}),
        "rolling_update_percentage": st.sampled_from([0.1, 0.2, 0.5, 1]),
        "max_surge_percent": st.integers(0, 100),
    }
    for key, strategy in optional.items():
        if draw(st.integers(0, 3)) == 0:
            dep[key] = draw(strategy)
    return dep


RUNTIME_ENVS = st.one_of(
    st.just({}),
    st.builds(lambda env: {"env_vars": env}, ENV_VARS),
    st.just({"working_dir": "s3://models-bucket/code/app.zip"}),
    st.just({"pip": ["requests==2.32.3"], "py_modules": ["gs://shared/libs.zip"]}),
)


@st.composite
def application(draw: st.DrawFn, name: str, route: str | None, omit_route: bool) -> Config:
    module = draw(st.sampled_from(["app", "serving.app", "models.text.summarizer"]))
    sep = draw(st.sampled_from([":", "."]))
    app: Config = {"name": name, "import_path": f"{module}{sep}{name}_app"}
    if not omit_route:
        app["route_prefix"] = route
    if draw(st.booleans()):
        app["runtime_env"] = draw(RUNTIME_ENVS)
    if draw(st.integers(0, 3)) == 0:
        app["args"] = {"model_id": f"{name}-v1", "threshold": 0.5}
    if draw(st.integers(0, 3)) == 0:
        app["logging_config"] = draw(LOGGING)
    dep_names = draw(st.lists(DEPLOYMENT_NAMES, min_size=1, max_size=4, unique=True))
    app["deployments"] = [draw(deployment(dep)) for dep in dep_names]
    return app


@st.composite
def deploy_config(draw: st.DrawFn) -> Config:
    names = draw(st.lists(APP_NAMES, min_size=1, max_size=4, unique=True))
    apps = []
    for index, name in enumerate(names):
        # Only the first application may take the root route, explicitly or by default.
        kind = draw(
            st.sampled_from(["own", "own", "none", "root"] if index == 0 else ["own", "none"])
        )
        route = {"own": f"/{name}", "none": None, "root": "/"}[kind]
        omit = kind == "root" and draw(st.booleans())
        apps.append(draw(application(name, route, omit)))
    config: Config = {"applications": apps}
    instance: dict[str, st.SearchStrategy[Any]] = {
        "proxy_location": st.sampled_from(["EveryNode", "HeadOnly", "Disabled"]),
        "http_options": st.fixed_dictionaries(
            {"host": st.sampled_from(["127.0.0.1", "0.0.0.0"]), "port": st.integers(1024, 65535)},
            optional={
                "request_timeout_s": FLOATS_POS,
                "keep_alive_timeout_s": st.integers(5, 120),
                "root_path": st.just("/serve"),
            },
        ),
        "grpc_options": st.fixed_dictionaries(
            {"port": st.integers(1024, 65535)},
            optional={"grpc_servicer_functions": st.just(["protos.fruit_pb2_grpc.add_Servicer"])},
        ),
        "logging_config": LOGGING,
        "target_capacity": st.sampled_from([0, 50, 100, None]),
    }
    for key, strategy in instance.items():
        if draw(st.booleans()):
            config[key] = draw(strategy)
    return config


# ----------------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    """One change to a valid config. ``ray`` is what Ray 2.60 does with the result;
    ``stricter`` names the gitsync rules allowed to reject it when Ray accepts."""

    name: str
    apply: Callable[[Config, Pick], None]
    ray: Literal["accept", "reject"]
    stricter: frozenset[str] = frozenset()
    # Entry points where gitsync differs from Ray by design, with the reason in a comment.
    not_for: frozenset[Entry] = frozenset()


def _app(config: Config, pick: Pick) -> Config:
    app: Config = pick(config["applications"])
    return app


def _dep(config: Config, pick: Pick) -> Config:
    dep: Config = pick(_app(config, pick)["deployments"])
    return dep


def _plain_dep(config: Config, pick: Pick) -> Config:
    """A deployment stripped of replica and placement options, for mutations that set
    their own and must not collide with generated ones."""
    dep = _dep(config, pick)
    for key in (
        "num_replicas",
        "autoscaling_config",
        "gang_scheduling_config",
        "placement_group_bundles",
        "placement_group_strategy",
        "placement_group_bundle_label_selector",
        "max_replicas_per_node",
    ):
        dep.pop(key, None)
    return dep


def set_dep(key: str, value: Any) -> Callable[[Config, Pick], None]:
    return lambda config, pick: _plain_dep(config, pick).__setitem__(key, value)


def set_app(key: str, value: Any) -> Callable[[Config, Pick], None]:
    return lambda config, pick: _app(config, pick).__setitem__(key, value)


def set_top(key: str, value: Any) -> Callable[[Config, Pick], None]:
    return lambda config, pick: config.__setitem__(key, value)


def set_nested(key: str, inner: str, value: Any) -> Callable[[Config, Pick], None]:
    def apply(config: Config, pick: Pick) -> None:
        config.setdefault(key, {})[inner] = value

    return apply


def set_dep_nested(
    key: str, base: Config, inner: str, value: Any
) -> Callable[[Config, Pick], None]:
    def apply(config: Config, pick: Pick) -> None:
        _plain_dep(config, pick)[key] = {**base, inner: value}

    return apply


def drop_app_key(key: str) -> Callable[[Config, Pick], None]:
    return lambda config, pick: _app(config, pick).pop(key, None)


def duplicate_app_field(key: str) -> Callable[[Config, Pick], None]:
    def apply(config: Config, pick: Pick) -> None:
        first = config["applications"][0]
        twin = copy.deepcopy(first)
        # "-" never occurs in generated names, so the twin clashes only on ``key``.
        twin["name"] = first["name"] + "-twin"
        twin["route_prefix"] = "/" + twin["name"]
        if key == "route_prefix" and first.get("route_prefix", "/") is None:
            first["route_prefix"] = "/shared"  # null routes never clash
        twin[key] = first.get(key, "/")
        config["applications"].append(twin)

    return apply


def two_unnamed_apps(config: Config, pick: Pick) -> None:
    first = config["applications"][0]
    twin = copy.deepcopy(first)
    for app, route in ((first, "/-first"), (twin, "/-second")):
        app.pop("name", None)
        app["route_prefix"] = route
    config["applications"].append(twin)


def duplicate_deployment(config: Config, pick: Pick) -> None:
    deps = _app(config, pick)["deployments"]
    deps.append({"name": deps[0]["name"], "num_replicas": 2})


def gang_not_multiple(config: Config, pick: Pick) -> None:
    dep = _plain_dep(config, pick)
    dep.update(num_replicas=3, gang_scheduling_config={"gang_size": 2})


def gang_with_strategy(config: Config, pick: Pick) -> None:
    dep = _plain_dep(config, pick)
    dep.update(num_replicas=2, gang_scheduling_config={"gang_size": 2})
    dep["placement_group_strategy"] = "SPREAD"


def node_limit_with_bundles(config: Config, pick: Pick) -> None:
    _plain_dep(config, pick).update(placement_group_bundles=[{"CPU": 1}], max_replicas_per_node=2)


def external_scaler_with_autoscaling(config: Config, pick: Pick) -> None:
    app = _app(config, pick)
    app["external_scaler_enabled"] = True
    app["deployments"][0]["num_replicas"] = "auto"
    app["deployments"][0].pop("autoscaling_config", None)


def ssl_cert_without_key(config: Config, pick: Pick) -> None:
    config.setdefault("http_options", {})["ssl_certfile"] = "/etc/ssl/serve.crt"
    config["http_options"].pop("ssl_keyfile", None)


def deployment_not_object(config: Config, pick: Pick) -> None:
    _app(config, pick)["deployments"].append("Summarizer")


def bad_route(template: str) -> Callable[[Config, Pick], None]:
    def apply(config: Config, pick: Pick) -> None:
        app = _app(config, pick)
        app["route_prefix"] = template.format(name=app["name"])

    return apply


AUTOSCALE = {"min_replicas": 1, "max_replicas": 4}
FILE: frozenset[Entry] = frozenset({"file"})
BUNDLES = [{"CPU": 1}]

MUTATIONS: list[Mutation] = [
    # missing required keys
    # In a config repo a file without `applications` holds instance options only.
    Mutation("drop applications", lambda c, p: c.pop("applications"), "reject", not_for=FILE),
    Mutation("drop import_path", drop_app_key("import_path"), "reject"),
    Mutation("drop deployment name", lambda c, p: _dep(c, p).pop("name"), "reject"),
    # wrong types and non-nullable nulls
    Mutation("app name int", set_app("name", 5), "reject"),
    Mutation("deployments object", set_app("deployments", {"name": "D"}), "reject"),
    Mutation("deployment entry string", deployment_not_object, "reject"),
    Mutation("runtime_env null", set_app("runtime_env", None), "reject"),
    Mutation("args list", set_app("args", ["a"]), "reject"),
    Mutation("user_config list", set_dep("user_config", [1, 2]), "reject"),
    Mutation("user_config scalar", set_dep("user_config", 3), "reject"),
    Mutation("max_ongoing_requests null", set_dep("max_ongoing_requests", None), "reject"),
    Mutation("max_queued_requests float", set_dep("max_queued_requests", 2.0), "reject"),
    Mutation("max_queued_requests str", set_dep("max_queued_requests", "10"), "reject"),
    Mutation("bundles object", set_dep("placement_group_bundles", {"CPU": 1}), "reject"),
    Mutation("num_cpus word", set_dep("ray_actor_options", {"num_cpus": "lots"}), "reject"),
    Mutation("http_options null", set_top("http_options", None), "reject"),
    Mutation("http port word", set_nested("http_options", "port", "eighty"), "reject"),
    Mutation(
        "grpc servicers str", set_nested("grpc_options", "grpc_servicer_functions", "x"), "reject"
    ),
    # out-of-range numbers
    Mutation("max_ongoing_requests 0", set_dep("max_ongoing_requests", 0), "reject"),
    Mutation("max_queued_requests 0", set_dep("max_queued_requests", 0), "reject"),
    Mutation("max_queued_requests -2", set_dep("max_queued_requests", -2), "reject"),
    Mutation("health_check_period_s 0", set_dep("health_check_period_s", 0), "reject"),
    Mutation(
        "graceful_shutdown_timeout_s -1", set_dep("graceful_shutdown_timeout_s", -1), "reject"
    ),
    Mutation("rolling_update_percentage 0", set_dep("rolling_update_percentage", 0), "reject"),
    Mutation("rolling_update_percentage 1.5", set_dep("rolling_update_percentage", 1.5), "reject"),
    Mutation("max_surge_percent 101", set_dep("max_surge_percent", 101), "reject"),
    Mutation("num_cpus -1", set_dep("ray_actor_options", {"num_cpus": -1}), "reject"),
    Mutation("num_replicas 0", set_dep("num_replicas", 0), "reject"),
    Mutation("num_replicas -1", set_dep("num_replicas", -1), "reject"),
    Mutation("target_capacity 101", set_top("target_capacity", 101), "reject"),
    Mutation("target_capacity -5", set_top("target_capacity", -5), "reject"),
    Mutation(
        "retry_after_s -1",
        set_dep_nested("backpressure_config", {"status_code": 503}, "retry_after_s", -1),
        "reject",
    ),
    Mutation("sampling_ratio 2", set_nested("tracing_config", "sampling_ratio", 2), "reject"),
    # bad enum values
    Mutation("proxy_location NoServer", set_top("proxy_location", "NoServer"), "reject"),
    Mutation("proxy_location lower case", set_top("proxy_location", "everynode"), "reject"),
    Mutation("encoding XML", set_nested("logging_config", "encoding", "XML"), "reject"),
    Mutation("log_level lower case", set_nested("logging_config", "log_level", "info"), "reject"),
    Mutation("log_level 15", set_nested("logging_config", "log_level", 15), "reject"),
    Mutation(
        "log attr unknown",
        set_nested("logging_config", "additional_log_standard_attrs", ["x"]),
        "reject",
    ),
    Mutation(
        "backpressure 500",
        set_dep_nested("backpressure_config", {}, "status_code", 500),
        "reject",
    ),
    Mutation(
        "gang strategy bad",
        set_dep_nested(
            "gang_scheduling_config", {"gang_size": 1}, "gang_placement_strategy", "STRICT"
        ),
        "reject",
    ),
    # unknown keys: dropped by Ray (gitsync warns), or forbidden by Ray
    Mutation("unknown top-level key", set_top("applicatons", []), "accept"),
    Mutation("unknown app key", set_app("replicas", 3), "accept"),
    Mutation("unknown deployment key", set_dep("num_replica", 3), "accept"),
    Mutation("unknown http key", set_nested("http_options", "hots", "127.0.0.1"), "accept"),
    Mutation("unknown logging key", set_nested("logging_config", "level", "INFO"), "reject"),
    Mutation("unknown tracing key", set_nested("tracing_config", "exporter", "otlp"), "reject"),
    Mutation(
        "unknown backpressure key",
        set_dep_nested("backpressure_config", {"status_code": 503}, "retry", 1),
        "reject",
    ),
    Mutation(
        "unknown ray_actor_options key",
        set_dep("ray_actor_options", {"num_cpus": 1, "max_restarts": 3}),
        "accept",
        frozenset({"ray-actor-options-key"}),
    ),
    # names and routes
    Mutation("duplicate app name", duplicate_app_field("name"), "reject"),
    Mutation("duplicate route_prefix", duplicate_app_field("route_prefix"), "reject"),
    Mutation("two unnamed apps", two_unnamed_apps, "reject"),
    Mutation("empty app name", set_app("name", ""), "reject"),
    Mutation(
        "duplicate deployment", duplicate_deployment, "accept", frozenset({"duplicate-deployment"})
    ),
    Mutation(
        "route without slash", bad_route("{name}"), "accept", frozenset({"route-prefix-format"})
    ),
    Mutation(
        "route trailing slash", bad_route("/{name}/"), "accept", frozenset({"route-prefix-format"})
    ),
    Mutation(
        "route with braces",
        bad_route("/{name}/{{id}}"),
        "accept",
        frozenset({"route-prefix-format"}),
    ),
    Mutation("host in app", set_app("host", "0.0.0.0"), "reject"),
    Mutation("port in app", set_app("port", 8000), "reject"),
    # import_path format
    *(
        Mutation(f"import_path {path!r}", set_app("import_path", path), "reject")
        for path in ["nodots", "a:b:c", ":app", "module:", ".module", "module."]
    ),
    # num_replicas forms
    Mutation("num_replicas true", set_dep("num_replicas", True), "accept", LAX),
    Mutation("num_replicas '3'", set_dep("num_replicas", "3"), "reject"),
    Mutation("num_replicas 2.0", set_dep("num_replicas", 2.0), "reject"),
    Mutation("num_replicas AUTO", set_dep("num_replicas", "AUTO"), "reject"),
    Mutation("num_replicas auto alone", set_dep("num_replicas", "auto"), "accept"),
    Mutation(
        "num_replicas int with autoscaling",
        lambda c, p: _plain_dep(c, p).update(num_replicas=2, autoscaling_config=AUTOSCALE),
        "reject",
    ),
    Mutation(
        "num_replicas true with autoscaling",
        lambda c, p: _plain_dep(c, p).update(num_replicas=True, autoscaling_config=AUTOSCALE),
        "reject",
    ),
    # lax coercions Ray accepts silently
    Mutation("http port '8000'", set_nested("http_options", "port", "8000"), "accept", LAX),
    Mutation("max_ongoing_requests '5'", set_dep("max_ongoing_requests", "5"), "accept", LAX),
    Mutation("target_capacity '50'", set_top("target_capacity", "50"), "accept", LAX),
    Mutation(
        "enable_access_log 'yes'",
        set_nested("logging_config", "enable_access_log", "yes"),
        "accept",
        LAX,
    ),
    # autoscaling: Ray only checks the dict at apply time
    Mutation(
        "autoscaling min > max",
        set_dep_nested("autoscaling_config", {"min_replicas": 5}, "max_replicas", 1),
        "accept",
        frozenset({"autoscaling-bounds"}),
    ),
    Mutation(
        "autoscaling initial > max",
        set_dep_nested("autoscaling_config", AUTOSCALE, "initial_replicas", 9),
        "accept",
        frozenset({"autoscaling-bounds"}),
    ),
    Mutation(
        "autoscaling min -1",
        set_dep_nested("autoscaling_config", AUTOSCALE, "min_replicas", -1),
        "accept",
        AUTOSCALING_DICT,
    ),
    Mutation(
        "aggregation median",
        set_dep_nested("autoscaling_config", AUTOSCALE, "aggregation_function", "median"),
        "accept",
        AUTOSCALING_DICT,
    ),
    # placement and gang rules
    Mutation(
        "max_replicas_per_node 0",
        set_dep("max_replicas_per_node", 0),
        "accept",
        frozenset({"max-replicas-per-node", "schema"}),
    ),
    Mutation(
        "max_replicas_per_node 500",
        set_dep("max_replicas_per_node", 500),
        "accept",
        frozenset({"max-replicas-per-node", "schema"}),
    ),
    Mutation(
        "placement strategy unknown",
        lambda c, p: _plain_dep(c, p).update(
            placement_group_bundles=BUNDLES, placement_group_strategy="PACKED"
        ),
        "accept",
        frozenset({"placement-group-strategy", "schema"}),
    ),
    Mutation(
        "placement strategy without bundles",
        set_dep("placement_group_strategy", "SPREAD"),
        "accept",
        frozenset({"placement-group-strategy"}),
    ),
    Mutation(
        "label selector without bundles",
        set_dep("placement_group_bundle_label_selector", [{"zone": "a"}]),
        "reject",
    ),
    Mutation("max_replicas_per_node with bundles", node_limit_with_bundles, "reject"),
    Mutation("gang size not a divisor", gang_not_multiple, "reject"),
    Mutation("gang with placement strategy", gang_with_strategy, "reject"),
    Mutation("external scaler with autoscaling", external_scaler_with_autoscaling, "reject"),
    Mutation("ssl cert without key", ssl_cert_without_key, "reject"),
    # local paths: Ray wants URIs; gitsync allows only relative ones inside the snapshot
    Mutation(
        "working_dir absolute", set_app("runtime_env", {"working_dir": "/srv/code"}), "reject"
    ),
    Mutation("py_modules absolute", set_app("runtime_env", {"py_modules": ["/srv/lib"]}), "reject"),
    Mutation(
        "actor working_dir absolute",
        set_dep("ray_actor_options", {"runtime_env": {"working_dir": "/srv/code"}}),
        "reject",
    ),
]


# ---------------------------------------------------------------------------- tests

# Disagreements still open, as (mutation, entry point): each is a false accept.
# validate_config() on a plain dict does not look at local paths; only the loader does.
KNOWN_GAPS: frozenset[tuple[str, Entry]] = frozenset()


def check_mutation(config: Config, mutation: Mutation) -> None:
    assert ray_accepts(config) == (mutation.ray == "accept"), f"corpus drift: {mutation.name}"
    for entry in ENTRIES:
        if entry not in mutation.not_for and (mutation.name, entry) not in KNOWN_GAPS:
            check_agreement(config, mutation.name, mutation.stricter, entry)


@settings(CORPUS_SETTINGS, max_examples=60)
@given(deploy_config())
def test_valid_configs_pass_both(config: Config) -> None:
    assert ray_accepts(config), f"corpus produced a config Ray rejects: {json.dumps(config)}"
    for entry in ENTRIES:
        check_agreement(config, "unmutated", frozenset(), entry)


@settings(CORPUS_SETTINGS, max_examples=300)
@given(deploy_config(), st.sampled_from(MUTATIONS), st.data())
def test_mutations_agree_with_ray(config: Config, mutation: Mutation, data: st.DataObject) -> None:
    mutation.apply(config, lambda seq: data.draw(st.sampled_from(seq)))
    check_mutation(config, mutation)


BASE_CONFIG: Config = {
    "proxy_location": "EveryNode",
    "http_options": {"host": "127.0.0.1", "port": 8000},
    "logging_config": {"log_level": "INFO"},
    "applications": [
        {
            "name": "fruit_stand",
            "route_prefix": "/fruit",
            "import_path": "fruit:app",
            "runtime_env": {"env_vars": {"CURRENCY": "EUR"}},
            "deployments": [
                {"name": "MangoStand", "num_replicas": 2, "user_config": {"price": 3}},
                {"name": "FruitMarket", "max_ongoing_requests": 10},
            ],
        },
        {
            "name": "calculator",
            "route_prefix": "/calc",
            "import_path": "calculator.app",
            "deployments": [
                {"name": "Adder", "num_replicas": "auto", "autoscaling_config": AUTOSCALE},
            ],
        },
    ],
}


def _fixed_cases() -> list[Any]:
    cases = []
    for mutation in MUTATIONS:
        for entry in ENTRIES:
            if entry in mutation.not_for:
                continue
            marks = []
            if (mutation.name, entry) in KNOWN_GAPS:
                marks.append(pytest.mark.xfail(strict=True, reason="known gap, see KNOWN_GAPS"))
            cases.append(pytest.param(mutation, entry, id=f"{mutation.name}-{entry}", marks=marks))
    return cases


@pytest.mark.parametrize(("mutation", "entry"), _fixed_cases())
def test_every_mutation_on_a_fixed_config(mutation: Mutation, entry: Entry) -> None:
    """Each mutation at least once, deterministically, on a small hand-written config."""
    config = copy.deepcopy(BASE_CONFIG)
    mutation.apply(config, random.Random(mutation.name).choice)
    assert ray_accepts(config) == (mutation.ray == "accept"), f"corpus drift: {mutation.name}"
    check_agreement(config, mutation.name, mutation.stricter, entry)


def test_mutations_name_only_listed_stricter_rules() -> None:
    assert {rule for m in MUTATIONS for rule in m.stricter} <= STRICTER_RULES
    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("entry", ENTRIES)
def test_base_config_is_valid_for_both(entry: Entry) -> None:
    assert ray_accepts(BASE_CONFIG)
    check_agreement(BASE_CONFIG, "base", frozenset(), entry)


DROPPED_BY_RAY = (
    "unknown top-level key",
    "unknown app key",
    "unknown deployment key",
    "unknown http key",
)


@pytest.mark.parametrize("name", DROPPED_BY_RAY)
@pytest.mark.parametrize("entry", ENTRIES)
def test_unknown_keys_ray_drops_are_errors_by_default(name: str, entry: Entry) -> None:
    """Ray accepts these and drops the key; gitsync's default refuses them (a typo must
    not deploy silently), and ``warn`` mode accepts them as Ray does."""
    mutation = next(m for m in MUTATIONS if m.name == name)
    config = copy.deepcopy(BASE_CONFIG)
    mutation.apply(config, random.Random(name).choice)
    assert ray_accepts(config)
    assert gitsync_error_rules(config, entry, "error") == ["unknown-key"]
    assert gitsync_error_rules(config, entry, "warn") == []
