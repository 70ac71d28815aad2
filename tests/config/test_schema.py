"""Validation messages, exactly as users read them (paths are in the merged config)."""

from __future__ import annotations

from typing import Any

import pytest

from gitsync.config.schema import UnknownKeys, validate_config


def _app(**fields: Any) -> dict[str, Any]:
    return {"name": "a", "route_prefix": "/a", "import_path": "mod:app", **fields}


def _dep(**fields: Any) -> dict[str, Any]:
    return _app(deployments=[{"name": "D", **fields}])


def _messages(config: dict[str, Any], unknown_keys: UnknownKeys = "error") -> list[str]:
    return [
        f"{i.severity}: {i.json_path}: {i.message} [{i.rule}]"
        for i in validate_config(config, unknown_keys)
    ]


def test_minimal_config_is_valid() -> None:
    assert _messages({"applications": [{"import_path": "a.b:c"}]}) == []


def test_empty_applications_list_is_valid() -> None:
    assert _messages({"applications": []}) == []


def test_applications_are_required() -> None:
    assert _messages({}) == ["error: $: missing required key 'applications' [schema]"]


CASES: list[tuple[dict[str, Any], str]] = [
    (
        _app(route_prefix="api/"),
        "error: applications[0].route_prefix: route_prefix must start with '/', must not end with '/' "
        "(unless it is exactly '/') and must not contain '{' or '}'; got 'api/' [route-prefix-format]",
    ),
    (
        _app(route_prefix="/{x}"),
        "error: applications[0].route_prefix: route_prefix must start with '/', must not end with '/' "
        "(unless it is exactly '/') and must not contain '{' or '}'; got '/{x}' [route-prefix-format]",
    ),
    (
        _dep(num_replicas=True),
        'error: applications[0].deployments[0].num_replicas: expected an integer >= 1 or "auto" or null, '
        "got true [schema]",
    ),
    (
        _dep(num_replicas=2.0),
        'error: applications[0].deployments[0].num_replicas: num_replicas must be an integer or "auto", '
        "got 2.0 [schema]",
    ),
    (
        _dep(num_replicas=2, autoscaling_config={"max_replicas": 3}),
        "error: applications[0].deployments[0].num_replicas: num_replicas is a fixed number, so "
        'autoscaling_config must not be set (use num_replicas: "auto" to autoscale) '
        "[num-replicas-autoscaling]",
    ),
    (
        _dep(num_replicas="auto", autoscaling_config={"min_replicas": 5, "max_replicas": 1}),
        "error: applications[0].deployments[0].autoscaling_config.min_replicas: min_replicas (5) must "
        "not be greater than max_replicas (1) [autoscaling-bounds]",
    ),
    (
        _dep(
            num_replicas="auto",
            autoscaling_config={"min_replicas": 2, "initial_replicas": 1, "max_replicas": 4},
        ),
        "error: applications[0].deployments[0].autoscaling_config.initial_replicas: initial_replicas "
        "(1) must not be less than min_replicas (2) [autoscaling-bounds]",
    ),
    (
        _dep(max_replicas_per_node=500),
        "error: applications[0].deployments[0].max_replicas_per_node: must be <= 100, got 500 "
        "[max-replicas-per-node]",
    ),
    (
        _dep(placement_group_strategy="PACK"),
        "error: applications[0].deployments[0].placement_group_strategy: placement_group_strategy "
        "needs placement_group_bundles [placement-group-strategy]",
    ),
    (
        _dep(placement_group_bundles=[{"CPU": 1}], placement_group_strategy="TIGHT"),
        'error: applications[0].deployments[0].placement_group_strategy: must be one of "PACK", '
        '"SPREAD", "STRICT_PACK", "STRICT_SPREAD", got "TIGHT" [placement-group-strategy]',
    ),
    (
        _dep(ray_actor_options={"max_restarts": 3}),
        "error: applications[0].deployments[0].ray_actor_options.max_restarts: unknown key "
        "'max_restarts' (allowed: accelerator_type, fallback_strategy, label_selector, memory, "
        "num_cpus, num_gpus, resources, runtime_env) [ray-actor-options-key]",
    ),
    (
        _dep(max_queued_requests=0),
        "error: applications[0].deployments[0].max_queued_requests: expected -1 or >= 1, got 0 [schema]",
    ),
    (
        _dep(user_config=[1]),
        "error: applications[0].deployments[0].user_config: expected a mapping or null, got list [1] "
        "[schema]",
    ),
    (
        _dep(logging_config={"encoding": "json"}),
        'error: applications[0].deployments[0].logging_config.encoding: must be one of "TEXT", "JSON", '
        'got "json" [schema]',
    ),
    (
        _dep(logging_config={"log_level": "info"}),
        "error: applications[0].deployments[0].logging_config.log_level: must be one of ",
    ),
    (
        _dep(gang_scheduling_config={"gang_size": 2}, num_replicas=3),
        "error: applications[0].deployments[0].num_replicas: num_replicas (3) must be a multiple of "
        "gang_size (2) [gang-size]",
    ),
    (
        _app(external_scaler_enabled=True, deployments=[{"name": "D", "num_replicas": "auto"}]),
        "error: applications[0].deployments[0]: external_scaler_enabled is set on the application, so "
        "this deployment must not autoscale [external-scaler]",
    ),
    (
        _app(import_path="nodots"),
        "error: applications[0].import_path: import_path must be ",
    ),
    (
        _app(port=8000),
        "error: applications[0].port: 'port' is not allowed inside an application: set "
        "http_options.port instead [app-host-port]",
    ),
    (
        _app(name=""),
        "error: applications[0].name: must not be empty [schema]",
    ),
]


@pytest.mark.parametrize(("config", "expected"), [(c, e) for c, e in CASES], ids=range(len(CASES)))
def test_each_rule_has_its_exact_message(config: dict[str, Any], expected: str) -> None:
    messages = _messages({"applications": [config]})
    assert len(messages) == 1, messages
    assert messages[0].startswith(expected)


def test_duplicate_deployment_names() -> None:
    config = {"applications": [_app(deployments=[{"name": "D"}, {"name": "D"}])]}
    assert _messages(config) == [
        "error: applications[0].deployments[1].name: deployment 'D' is listed twice (first at "
        "deployments[0]); Ray would silently keep only the last one [duplicate-deployment]"
    ]


def test_two_unnamed_apps_clash_on_name_and_route() -> None:
    config = {"applications": [{"import_path": "a:b"}, {"import_path": "c:d"}]}
    assert _messages(config) == [
        "error: applications[1]: application name 'default' is already used by applications[0] (an "
        "application without a name is called 'default') [unique-app-name]",
        "error: applications[1]: route_prefix '/' is already used by applications[0] (the default "
        "route_prefix is '/') [unique-route-prefix]",
    ]


def test_null_route_prefixes_do_not_clash() -> None:
    config = {
        "applications": [
            _app(name="a", route_prefix=None),
            _app(name="b", route_prefix=None),
        ]
    }
    assert _messages(config) == []


def test_lax_coercions_are_errors_with_a_hint() -> None:
    config: dict[str, Any] = {"http_options": {"port": "8000"}, "applications": []}
    assert _messages(config) == [
        'error: http_options.port: expected an integer, got string "8000" (Ray would coerce the '
        "string '8000'; write 8000 without quotes) [lax-coercion]"
    ]
    config = {"applications": [_dep(max_ongoing_requests=True)]}
    assert _messages(config) == [
        "error: applications[0].deployments[0].max_ongoing_requests: expected an integer, got "
        "boolean true (Ray would silently read true as 1; write 1) [lax-coercion]"
    ]


def test_unknown_keys_warn_where_ray_drops_them_and_fail_where_ray_forbids_them() -> None:
    config = {"applications": [_dep(colour="red", logging_config={"colour": "red"})]}
    assert _messages(config, "warn") == [
        "warning: applications[0].deployments[0].colour: unknown key 'colour': Ray ignores it, so it "
        "has no effect; if it is a setting of the deployment's own code, it belongs under 'user_config' "
        "(user_config: {colour: ...}) [unknown-key]",
        "error: applications[0].deployments[0].logging_config.colour: unknown key 'colour' (allowed: "
        "additional_log_standard_attrs, enable_access_log, encoding, log_level, logs_dir) [unknown-key]",
    ]


def test_unknown_keys_are_errors_by_default_with_a_did_you_mean() -> None:
    config = {"applications": [_app(route_prefx="/fruit")]}
    assert _messages(config) == [
        "error: applications[0].route_prefx: unknown key 'route_prefx'; did you mean "
        "'route_prefix'? [unknown-key]"
    ]
    assert _messages({"applications": [_dep(num_replica=3)]}) == [
        "error: applications[0].deployments[0].num_replica: unknown key 'num_replica'; did you "
        "mean 'num_replicas'? [unknown-key]"
    ]
    assert _messages({"http_options": {"hots": "0.0.0.0"}, "applications": []}) == [
        "error: http_options.hots: unknown key 'hots'; did you mean 'host'? [unknown-key]"
    ]


def test_a_key_at_the_wrong_level_says_where_it_belongs() -> None:
    assert _messages({"applications": [_dep(price=4, user_config={"price": 3})]}) == [
        "error: applications[0].deployments[0].price: unknown key 'price'; did you mean "
        "user_config.price? [unknown-key]"
    ]
    assert _messages({"applications": [_dep(price=4)]}) == [
        "error: applications[0].deployments[0].price: unknown key 'price'; if it is a setting of "
        "the deployment's own code, it belongs under 'user_config' (user_config: {price: ...}) "
        "[unknown-key]"
    ]
    assert _messages({"applications": [_app(num_replicas=2)]}) == [
        "error: applications[0].num_replicas: unknown key 'num_replicas'; 'num_replicas' belongs "
        "in a deployment (applications[].deployments[]), not here [unknown-key]"
    ]
    assert _messages({"applications": [_app(runtime_env={}, working_dir="./fruit")]}) == [
        "error: applications[0].working_dir: unknown key 'working_dir'; 'working_dir' belongs in "
        "runtime_env, not here [unknown-key]"
    ]


def test_ssl_pair() -> None:
    config = {"http_options": {"ssl_keyfile": "k.pem"}, "applications": []}
    assert _messages(config) == [
        "error: http_options.ssl_keyfile: ssl_keyfile needs ssl_certfile [ssl-pair]"
    ]


def test_non_json_values_are_reported_when_the_config_is_otherwise_invalid() -> None:
    config = {"applications": [_dep(num_replicas=0, user_config={"x": float("nan")})]}
    assert _messages(config) == [
        "error: applications[0].deployments[0].user_config.x: nan cannot be represented in JSON [yaml]"
    ]
