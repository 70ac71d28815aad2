"""The JSON Schemas in schemas/: well-formed, cross-file $refs resolve, verdicts as intended.

Both validators are exercised: `jsonschema` (messages) and `jsonschema_rs` (fast path). They must
compile the same files and agree on every verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
import referencing
from jsonschema.exceptions import best_match
from referencing.jsonschema import DRAFT202012

from tests.testing.tools import ROOT

SCHEMA_DIR = ROOT / "schemas"
BASE_URI = "https://gitsync.dev/schemas/"
ROOT_ID = BASE_URI + "deploy-config.schema.json"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

EXPECTED_FILES = {
    "deploy-config.schema.json",
    "http-options.schema.json",
    "grpc-options.schema.json",
    "controller-options.schema.json",
    "application.schema.json",
    "runtime-env.schema.json",
    "deployment.schema.json",
    "ray-actor-options.schema.json",
    "autoscaling-config.schema.json",
    "logging-config.schema.json",
    "tracing-config.schema.json",
    "backpressure-config.schema.json",
    "gang-scheduling-config.schema.json",
    "request-router-config.schema.json",
    "deployment-actor.schema.json",
}
# Ray rejects unknown keys in these models (or, for ray_actor_options, at apply time).
CLOSED_FILES = {
    "logging-config.schema.json",
    "backpressure-config.schema.json",
    "tracing-config.schema.json",
    "controller-options.schema.json",
    "ray-actor-options.schema.json",
}

Json = Any


def load_schemas() -> dict[str, Json]:
    """Every schema file by its $id."""
    schemas: dict[str, Json] = {}
    for name in sorted(EXPECTED_FILES):
        schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
        schemas[schema["$id"]] = schema
    return schemas


SCHEMAS = load_schemas()
REGISTRY: referencing.Registry[Json] = referencing.Registry().with_resources(
    (uri, DRAFT202012.create_resource(schema)) for uri, schema in SCHEMAS.items()
)
PY_VALIDATOR = jsonschema.Draft202012Validator(SCHEMAS[ROOT_ID], registry=REGISTRY)
# jsonschema_rs resolves the relative $refs ("deployment.schema.json") against each file's $id,
# and finds the target in a Registry holding every file under its $id: no network, no retriever.
RS_REGISTRY = jsonschema_rs.Registry(list(SCHEMAS.items()))
RS_VALIDATOR = jsonschema_rs.Draft202012Validator(SCHEMAS[ROOT_ID], registry=RS_REGISTRY)


def walk(node: Json, pointer: str = "") -> Iterator[tuple[str, Json]]:
    """Every (JSON pointer, dict) inside a schema document."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{pointer}/{index}")


def subschemas() -> Iterator[tuple[str, str, Json]]:
    """(file $id, pointer, subschema) for every schema object in every file."""
    for uri, schema in SCHEMAS.items():
        for pointer, node in walk(schema):
            yield uri, pointer, node


def rs_flat(errors: list[jsonschema_rs.ValidationError]) -> Iterator[jsonschema_rs.ValidationError]:
    """jsonschema_rs errors, descending into the branches of anyOf errors."""
    for error in errors:
        yield error
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AnyOf):
            for branch in error.kind.context:
                yield from rs_flat(branch)


def app(**fields: Json) -> Json:
    return {"applications": [{"import_path": "a.b:c", **fields}]}


def deployment(**fields: Json) -> Json:
    return app(deployments=[{"name": "D", **fields}])


# ---------------------------------------------------------------- the files themselves


# Output documents that are not part of the deploy config's schema.
OTHER_FILES = {"plan.schema.json"}


def test_every_expected_file_exists_and_nothing_else() -> None:
    found = {path.name for path in SCHEMA_DIR.glob("*.schema.json")}
    assert found - OTHER_FILES == EXPECTED_FILES


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_file_is_valid_draft_2020_12_with_id_title_description(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_2020_12
    assert schema["$id"] == BASE_URI + name
    assert schema["title"]
    assert schema["description"]


def test_every_ref_resolves_through_the_registry() -> None:
    refs = 0
    for uri, _pointer, node in subschemas():
        if "$ref" in node:
            resolved = REGISTRY.resolver(base_uri=uri).lookup(node["$ref"])
            assert isinstance(resolved.contents, dict)
            refs += 1
    assert refs == 19


def test_cross_file_refs_are_relative_file_names() -> None:
    for _uri, _pointer, node in subschemas():
        ref = node.get("$ref")
        if ref is not None and not ref.startswith("#"):
            assert "/" not in ref.split("#")[0], ref
            assert ref.split("#")[0] in EXPECTED_FILES, ref


def test_every_property_has_a_description() -> None:
    missing = [
        f"{uri}#{pointer}/properties/{name}"
        for uri, pointer, node in subschemas()
        if isinstance(node.get("properties"), dict)
        for name, prop in node["properties"].items()
        if "description" not in prop
    ]
    assert missing == []


def test_every_pattern_carries_a_human_message() -> None:
    patterns = [(uri, pointer, node) for uri, pointer, node in subschemas() if "pattern" in node]
    assert len(patterns) >= 6
    for uri, pointer, node in patterns:
        assert node.get("x-gitsync-message"), f"{uri}#{pointer}"


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_unknown_key_policy_of_each_top_level_object(name: str) -> None:
    schema = SCHEMAS[BASE_URI + name]
    if name in CLOSED_FILES:
        assert schema["additionalProperties"] is False
        assert "x-gitsync-unknown-keys" not in schema
    elif name == "runtime-env.schema.json":
        assert schema["additionalProperties"] is True
        assert "x-gitsync-unknown-keys" not in schema
    else:
        assert schema["additionalProperties"] is True
        assert schema["x-gitsync-unknown-keys"] == "warn"


def test_every_default_is_valid_against_its_own_schema() -> None:
    checked = 0
    for uri, pointer, node in subschemas():
        if "default" in node and "/properties/" in pointer:
            sub = jsonschema.Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=REGISTRY)
            assert list(sub.iter_errors(node["default"])) == [], f"{uri}#{pointer}"
            checked += 1
    assert checked >= 60


@pytest.mark.parametrize(
    ("file_name", "field", "default"),
    [
        ("deploy-config.schema.json", "proxy_location", "EveryNode"),
        ("http-options.schema.json", "host", "0.0.0.0"),
        ("http-options.schema.json", "port", 8000),
        ("application.schema.json", "name", "default"),
        ("application.schema.json", "route_prefix", "/"),
        ("deployment.schema.json", "num_replicas", 1),
        ("deployment.schema.json", "max_ongoing_requests", 5),
        ("deployment.schema.json", "max_queued_requests", -1),
        ("deployment.schema.json", "health_check_period_s", 10),
        ("deployment.schema.json", "health_check_timeout_s", 30),
        ("deployment.schema.json", "graceful_shutdown_timeout_s", 20),
        ("deployment.schema.json", "rolling_update_percentage", 0.2),
        ("logging-config.schema.json", "log_level", "INFO"),
        ("logging-config.schema.json", "encoding", "TEXT"),
    ],
)
def test_real_serve_defaults(file_name: str, field: str, default: Json) -> None:
    assert SCHEMAS[BASE_URI + file_name]["properties"][field]["default"] == default


def test_application_schema_lets_host_and_port_through_without_naming_them() -> None:
    properties = SCHEMAS[BASE_URI + "application.schema.json"]["properties"]
    assert "host" not in properties
    assert "port" not in properties
    assert PY_VALIDATOR.is_valid(app(host="0.0.0.0", port=8000))
    assert RS_VALIDATOR.is_valid(app(host="0.0.0.0", port=8000))


# ---------------------------------------------------------------- verdicts

VALID_INSTANCES: list[tuple[str, Json]] = [
    ("minimal", {"applications": [{"import_path": "a.b:c"}]}),
    ("no applications", {"applications": []}),
    ("dotted import path", app(import_path="pkg.module.app")),
    ("dot-first import path, as Ray allows", app(import_path=".a.b")),
    ("route prefix null", app(route_prefix=None)),
    ("route prefix slash", app(route_prefix="/")),
    ("num_replicas auto", deployment(num_replicas="auto", autoscaling_config={"max_replicas": 3})),
    ("num_replicas null", deployment(num_replicas=None)),
    ("log level as number", deployment(logging_config={"log_level": 10})),
    ("aggregation in upper case", deployment(autoscaling_config={"aggregation_function": "MEAN"})),
    ("max_queued_requests -1", deployment(max_queued_requests=-1)),
    ("user_config null", deployment(user_config=None)),
    (
        "every section",
        {
            "proxy_location": "HeadOnly",
            "http_options": {"host": "127.0.0.1", "port": 8001, "request_timeout_s": 5},
            "grpc_options": {"port": 9001, "grpc_servicer_functions": ["svc.add:add"]},
            "controller_options": {"runtime_env": {"env_vars": {"A": "1"}}},
            "logging_config": {"encoding": "JSON", "log_level": "DEBUG"},
            "tracing_config": {"enabled": True, "sampling_ratio": 0.5},
            "target_capacity": 50,
            "applications": [
                {
                    "name": "fruit",
                    "route_prefix": "/fruit",
                    "import_path": "fruit:deployment_graph",
                    "runtime_env": {
                        "working_dir": "./fruit",
                        "pip": {"packages": ["requests"], "pip_check": False},
                        "env_vars": {"MODE": "prod"},
                        "config": {"setup_timeout_seconds": -1},
                    },
                    "args": {"k": "v"},
                    "deployments": [
                        {
                            "name": "MangoStand",
                            "num_replicas": 2,
                            "max_ongoing_requests": 10,
                            "max_queued_requests": 100,
                            "backpressure_config": {"status_code": 429, "retry_after_s": 1},
                            "user_config": {"price": 3},
                            "ray_actor_options": {"num_cpus": 0.5, "resources": {"x": 1}},
                            "max_replicas_per_node": 100,
                            "request_router_config": {"request_routing_stats_period_s": 5},
                            "rolling_update_percentage": 1,
                            "max_surge_percent": 100,
                        },
                        {
                            "name": "Pool",
                            "num_replicas": 4,
                            "gang_scheduling_config": {"gang_size": 2},
                            "placement_group_bundles": [{"CPU": 1}],
                            "deployment_actors": [{"name": "cache", "actor_class": "c.Cache"}],
                        },
                    ],
                }
            ],
        },
    ),
]


@pytest.mark.parametrize(
    ("label", "instance"), VALID_INSTANCES, ids=[v[0] for v in VALID_INSTANCES]
)
def test_valid_instances_pass_both_validators(label: str, instance: Json) -> None:
    assert [e.message for e in PY_VALIDATOR.iter_errors(instance)] == []
    assert [e.message for e in RS_VALIDATOR.iter_errors(instance)] == []


ROUTE_MESSAGE = (
    "route_prefix must start with '/', must not end with '/' (unless it is exactly '/') "
    "and must not contain '{' or '}'"
)

APP: list[str | int] = ["applications", 0]
DEP: list[str | int] = [*APP, "deployments", 0]

# (label, instance, keyword, instance path) of the error that names the problem.
INVALID_INSTANCES: list[tuple[str, Json, str, list[str | int]]] = [
    ("no applications key", {}, "required", []),
    ("route without slash", app(route_prefix="api/"), "pattern", APP + ["route_prefix"]),
    ("route with trailing slash", app(route_prefix="/api/"), "pattern", APP + ["route_prefix"]),
    ("route with braces", app(route_prefix="/{x}"), "pattern", APP + ["route_prefix"]),
    ("import path without dot", app(import_path="app"), "pattern", APP + ["import_path"]),
    ("import path with two colons", app(import_path="a:b:c"), "pattern", APP + ["import_path"]),
    ("empty app name", app(name=""), "minLength", APP + ["name"]),
    (
        "port as string",
        {"applications": [], "http_options": {"port": "8000"}},
        "type",
        ["http_options", "port"],
    ),
    (
        "target capacity over 100",
        {"applications": [], "target_capacity": 150},
        "maximum",
        ["target_capacity"],
    ),
    ("deployment without name", app(deployments=[{"num_replicas": 1}]), "required", DEP),
    (
        "max_replicas_per_node 500",
        deployment(max_replicas_per_node=500),
        "maximum",
        DEP + ["max_replicas_per_node"],
    ),
    ("num_replicas 0", deployment(num_replicas=0), "minimum", DEP + ["num_replicas"]),
    ("num_replicas AUTO", deployment(num_replicas="AUTO"), "anyOf", DEP + ["num_replicas"]),
    (
        "max_ongoing_requests 0",
        deployment(max_ongoing_requests=0),
        "exclusiveMinimum",
        DEP + ["max_ongoing_requests"],
    ),
    (
        "max_queued_requests 0",
        deployment(max_queued_requests=0),
        "anyOf",
        DEP + ["max_queued_requests"],
    ),
    ("user_config list", deployment(user_config=[1]), "type", DEP + ["user_config"]),
    (
        "logging encoding lower case",
        app(logging_config={"encoding": "json"}),
        "enum",
        APP + ["logging_config", "encoding"],
    ),
    (
        "logging unknown key",
        {"applications": [], "logging_config": {"colour": True}},
        "additionalProperties",
        ["logging_config"],
    ),
    (
        "log level lower case",
        deployment(logging_config={"log_level": "info"}),
        "enum",
        DEP + ["logging_config", "log_level"],
    ),
    (
        "ray_actor_options max_restarts",
        deployment(ray_actor_options={"max_restarts": 3}),
        "additionalProperties",
        DEP + ["ray_actor_options"],
    ),
    (
        "placement strategy unknown",
        deployment(placement_group_strategy="BOGUS"),
        "enum",
        DEP + ["placement_group_strategy"],
    ),
    (
        "autoscaling max_replicas 0",
        deployment(autoscaling_config={"max_replicas": 0}),
        "minimum",
        DEP + ["autoscaling_config", "max_replicas"],
    ),
    (
        "aggregation median",
        deployment(autoscaling_config={"aggregation_function": "median"}),
        "pattern",
        DEP + ["autoscaling_config", "aggregation_function"],
    ),
    (
        "backpressure status 500",
        deployment(backpressure_config={"status_code": 500}),
        "enum",
        DEP + ["backpressure_config", "status_code"],
    ),
    (
        "gang RESTART_REPLICA",
        deployment(
            gang_scheduling_config={"gang_size": 2, "runtime_failure_policy": "RESTART_REPLICA"}
        ),
        "enum",
        DEP + ["gang_scheduling_config", "runtime_failure_policy"],
    ),
    (
        "rolling update 0",
        deployment(rolling_update_percentage=0),
        "exclusiveMinimum",
        DEP + ["rolling_update_percentage"],
    ),
    (
        "router stats period 0",
        deployment(request_router_config={"request_routing_stats_period_s": 0}),
        "exclusiveMinimum",
        DEP + ["request_router_config", "request_routing_stats_period_s"],
    ),
    (
        "env var not a string",
        app(runtime_env={"env_vars": {"N": 1}}),
        "type",
        APP + ["runtime_env", "env_vars", "N"],
    ),
    (
        "controller runtime_env pip",
        {"applications": [], "controller_options": {"runtime_env": {"pip": ["x"]}}},
        "additionalProperties",
        ["controller_options", "runtime_env"],
    ),
    (
        "tracing sampling ratio 2",
        {"applications": [], "tracing_config": {"sampling_ratio": 2}},
        "maximum",
        ["tracing_config", "sampling_ratio"],
    ),
]


@pytest.mark.parametrize(
    ("label", "instance", "keyword", "path"),
    INVALID_INSTANCES,
    ids=[v[0] for v in INVALID_INSTANCES],
)
def test_invalid_instances_fail_at_the_expected_keyword_and_path(
    label: str, instance: Json, keyword: str, path: list[str | int]
) -> None:
    error = best_match(PY_VALIDATOR.iter_errors(instance))
    assert error is not None
    assert (error.validator, list(error.absolute_path)) == (keyword, path)

    rs_errors = list(RS_VALIDATOR.iter_errors(instance))
    assert not RS_VALIDATOR.is_valid(instance)
    found = {(e.kind.name, tuple(e.instance_path)) for e in rs_flat(rs_errors)}
    assert (keyword, tuple(path)) in found


def test_pattern_error_can_be_explained_with_the_schema_message() -> None:
    error = best_match(PY_VALIDATOR.iter_errors(app(route_prefix="/api/")))
    assert error is not None
    assert error.schema["x-gitsync-message"] == ROUTE_MESSAGE
    assert error.message == "'/api/' does not match '^/$|^/[^{}]*[^/{}]$'"


def test_lax_values_ray_coerces_are_rejected() -> None:
    # Ray turns true into 1; gitsync wants a real integer.
    assert not PY_VALIDATOR.is_valid(deployment(num_replicas=True))
    assert not RS_VALIDATOR.is_valid(deployment(num_replicas=True))
    assert not PY_VALIDATOR.is_valid(deployment(logging_config={"log_level": False}))
    assert not RS_VALIDATOR.is_valid(deployment(logging_config={"log_level": False}))


# ---------------------------------------------------------------- patterns match Ray's own rules

ROUTE_PREFIXES = ["/", "/a", "/a/b", "//a", "/a b", "", "a", "api/", "/api/", "//", "/{x}", "/a}"]
IMPORT_PATHS = [
    "a.b", "a.b:c", "a:b", "my module.app", "my-pkg.app", ".a.b", "a..b", "",
    "a", ".a", "a.", ":a", "a:", "a:b:c", "a.b.", "::",
]  # fmt: skip


def pattern_of(file_name: str, field: str) -> str:
    pattern: str = SCHEMAS[BASE_URI + file_name]["properties"][field]["pattern"]
    return pattern


@pytest.mark.parametrize("route_prefix", ROUTE_PREFIXES)
def test_route_prefix_pattern_agrees_with_ray(route_prefix: str) -> None:
    utils = pytest.importorskip("ray.serve._private.utils")
    try:
        utils.validate_route_prefix(route_prefix)
        ray_ok = True
    except ValueError:
        ray_ok = False
    sub = {"type": "string", "pattern": pattern_of("application.schema.json", "route_prefix")}
    assert jsonschema.Draft202012Validator(sub).is_valid(route_prefix) is ray_ok
    assert jsonschema_rs.validator_for(sub).is_valid(route_prefix) is ray_ok


@pytest.mark.parametrize("import_path", IMPORT_PATHS)
def test_import_path_pattern_agrees_with_ray(import_path: str) -> None:
    schema_module = pytest.importorskip("ray.serve.schema")
    try:
        schema_module.ServeApplicationSchema(import_path=import_path)
        ray_ok = True
    except ValueError:
        ray_ok = False
    sub = {"type": "string", "pattern": pattern_of("application.schema.json", "import_path")}
    assert jsonschema.Draft202012Validator(sub).is_valid(import_path) is ray_ok
    assert jsonschema_rs.validator_for(sub).is_valid(import_path) is ray_ok
