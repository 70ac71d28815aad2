"""Unit tests for gitsync.config.model: canonical records, defaults, code digests, to_config."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gitsync.config.model import (
    Application,
    DeployConfig,
    Deployment,
    from_config,
    normalize_code_path,
    to_config,
)


def app(name: str = "fruit", **fields: Any) -> dict[str, Any]:
    return {"name": name, "import_path": "fruit:app", "route_prefix": f"/{name}", **fields}


def one_app(config: dict[str, Any], digests: dict[str, str] | None = None) -> Application:
    return from_config(config, digests or {}).applications[0]


def test_defaults_are_serves() -> None:
    config = from_config({"applications": [{"import_path": "m:app"}]})
    (only,) = config.applications
    assert only == Application(name="default", import_path="m:app")
    assert only.route_prefix == "/"
    assert dict(only.runtime_env) == {} and dict(only.args) == {}
    assert only.autoscaling_policy is None and only.logging_config is None
    assert only.external_scaler_enabled is False and only.code_digest is None
    assert config.proxy_location == "EveryNode"
    assert config.http_options["host"] == "0.0.0.0"
    assert config.http_options["port"] == 8000
    assert config.http_options["keep_alive_timeout_s"] == 90
    assert config.grpc_options["port"] == 9000
    assert config.grpc_options["enable_reflection"] is True
    assert config.target_capacity is None
    assert config == DeployConfig(applications=config.applications)


def test_defaults_written_explicitly_give_the_same_record() -> None:
    implicit = from_config({"applications": [{"import_path": "m:app"}]})
    explicit = from_config(
        {
            "proxy_location": "EveryNode",
            "http_options": {"host": "0.0.0.0", "port": 8000, "root_path": ""},
            "grpc_options": {"port": 9000, "grpc_servicer_functions": []},
            "target_capacity": None,
            "applications": [
                {
                    "name": "default",
                    "route_prefix": "/",
                    "import_path": "m:app",
                    "runtime_env": {},
                    "args": {},
                    "external_scaler_enabled": False,
                    "deployments": [],
                }
            ],
        }
    )
    assert explicit == implicit
    assert explicit.applications[0].fingerprint == implicit.applications[0].fingerprint


@pytest.mark.parametrize(
    ("option", "short", "long"),
    [
        ("ray_actor_options", {}, {"num_cpus": 1, "resources": {}, "runtime_env": {}}),
        ("ray_actor_options", {"num_cpus": None}, {"num_cpus": 1.0}),
        ("logging_config", {"log_level": 20}, {"log_level": "INFO", "encoding": "TEXT"}),
        ("backpressure_config", {}, {"status_code": 503, "retry_after_s": None}),
        ("autoscaling_config", {"max_replicas": 4}, {"max_replicas": 4, "min_replicas": 1}),
        (
            "autoscaling_config",
            {"max_replicas": 4, "aggregation_function": "MAX"},
            {"max_replicas": 4.0, "aggregation_function": "max", "upscale_delay_s": 30.0},
        ),
        ("request_router_config", {}, {"initial_backoff_s": 0.025, "backoff_multiplier": 2}),
        (
            "gang_scheduling_config",
            {"gang_size": 2},
            {"gang_size": 2, "gang_placement_strategy": "PACK"},
        ),
        ("max_ongoing_requests", 3, 3.0),
    ],
)
def test_deployment_option_defaults_fill_in(option: str, short: Any, long: Any) -> None:
    a = one_app({"applications": [app(deployments=[{"name": "D", option: short}])]})
    b = one_app({"applications": [app(deployments=[{"name": "D", option: long}])]})
    assert a == b
    assert a.fingerprint == b.fingerprint


def test_a_set_option_differs_from_an_unset_one() -> None:
    # ray_actor_options: {} replaces the options in code, so it is not "unset".
    unset = one_app({"applications": [app(deployments=[{"name": "D"}])]})
    empty = one_app({"applications": [app(deployments=[{"name": "D", "ray_actor_options": {}}])]})
    assert unset != empty
    assert unset.deployments[0].options == {}
    assert empty.deployments[0].options["ray_actor_options"]["num_cpus"] == 1


def test_user_data_is_kept_exactly() -> None:
    one = one_app({"applications": [app(deployments=[{"name": "D", "user_config": {"p": 1}}])]})
    one_f = one_app({"applications": [app(deployments=[{"name": "D", "user_config": {"p": 1.0}}])]})
    assert one.fingerprint != one_f.fingerprint
    assert type(one_f.deployments[0].options["user_config"]["p"]) is float
    args = one_app({"applications": [app(args={"n": 2.0})]})
    assert type(args.args["n"]) is float


def test_route_prefix_null_is_kept_apart_from_absent() -> None:
    assert one_app({"applications": [app(route_prefix=None)]}).route_prefix is None
    assert one_app({"applications": [{"import_path": "m:a"}]}).route_prefix == "/"


def test_order_of_applications_and_deployments_does_not_matter() -> None:
    deps = [{"name": "B", "num_replicas": 2}, {"name": "A", "num_replicas": 1}]
    first = from_config({"applications": [app("x", deployments=deps), app("y")]})
    second = from_config({"applications": [app("y"), app("x", deployments=deps[::-1])]})
    assert first == second
    assert [a.name for a in first.applications] == ["x", "y"]
    assert [d.name for d in first.applications[0].deployments] == ["A", "B"]


def test_duplicate_deployment_names_last_one_wins() -> None:
    deps = [{"name": "D", "num_replicas": 1}, {"name": "D", "num_replicas": 3}]
    (only,) = one_app({"applications": [app(deployments=deps)]}).deployments
    assert only == Deployment(name="D", options={"num_replicas": 3})


def test_direct_construction_matches_from_config() -> None:
    built = Application(
        name="fruit",
        import_path="fruit:app",
        route_prefix="/fruit",
        deployments=(Deployment("D", {"num_replicas": 2}),),
    )
    loaded = one_app({"applications": [app(deployments=[{"name": "D", "num_replicas": 2}])]})
    assert built == loaded
    assert built.fingerprint == loaded.fingerprint


def test_records_are_frozen_and_do_not_alias_the_input() -> None:
    raw = {
        "applications": [app(args={"k": [1]}, deployments=[{"name": "D", "user_config": {"p": 1}}])]
    }
    loaded = one_app(raw)
    raw["applications"][0]["args"]["k"].append(2)
    raw["applications"][0]["deployments"][0]["user_config"]["p"] = 5
    assert loaded.args == {"k": [1]}
    assert loaded.deployments[0].options["user_config"] == {"p": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("written", "normal"),
    [("./fruit/", "fruit"), ("fruit", "fruit"), ("././a/b//", "a/b"), ("./", "."), (".", ".")],
)
def test_normalize_code_path(written: str, normal: str) -> None:
    assert normalize_code_path(written) == normal


def test_code_digest_combines_local_working_dir_and_py_modules() -> None:
    env = {"working_dir": "./fruit/", "py_modules": ["./lib", "s3://bucket/m.zip"]}
    raw = {"applications": [app(runtime_env=env)]}
    first = one_app(raw, {"fruit": "d1", "lib/": "d2"})
    assert first.runtime_env == {"working_dir": "fruit", "py_modules": ["lib", "s3://bucket/m.zip"]}
    assert first.code_digest is not None and len(first.code_digest) == 64
    assert one_app(raw, {"./fruit": "d1", "lib": "d2"}).code_digest == first.code_digest
    assert one_app(raw, {"fruit": "d1", "lib": "CHANGED"}).code_digest != first.code_digest
    assert one_app(raw, {}).code_digest not in (None, first.code_digest)


def test_remote_code_has_no_digest() -> None:
    env = {"working_dir": "https://example.com/code.zip", "py_modules": ["gs://b/m.zip"]}
    assert one_app({"applications": [app(runtime_env=env)]}, {"x": "y"}).code_digest is None


def test_deployment_local_code_gets_its_own_digest() -> None:
    actor = {"runtime_env": {"working_dir": "./mango"}}
    raw = {"applications": [app(deployments=[{"name": "D", "ray_actor_options": actor}])]}
    (dep,) = one_app(raw, {"mango": "m1"}).deployments
    assert dep.options["ray_actor_options"]["runtime_env"] == {"working_dir": "mango"}
    assert dep.code_digest is not None
    assert one_app(raw, {"mango": "m2"}).deployments[0].code_digest != dep.code_digest


def test_to_config_keeps_only_what_differs_from_defaults() -> None:
    raw = {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8001},
        "grpc_options": {"port": 9000},
        "logging_config": {"log_level": "DEBUG", "encoding": "TEXT"},
        "target_capacity": 50,
        "applications": [
            app(
                runtime_env={"env_vars": {"A": "1"}},
                args={},
                deployments=[
                    {"name": "D", "num_replicas": 2, "ray_actor_options": {"num_cpus": 1}},
                    {"name": "E", "autoscaling_config": {"max_replicas": 3, "min_replicas": 1}},
                ],
            ),
            {"name": "hidden", "import_path": "h:app", "route_prefix": None},
        ],
    }
    assert to_config(from_config(raw)) == {
        "http_options": {"port": 8001},
        "logging_config": {"log_level": "DEBUG"},
        "target_capacity": 50,
        "applications": [
            {
                "name": "fruit",
                "import_path": "fruit:app",
                "route_prefix": "/fruit",
                "runtime_env": {"env_vars": {"A": "1"}},
                "deployments": [
                    {"name": "D", "num_replicas": 2, "ray_actor_options": {}},
                    {"name": "E", "autoscaling_config": {"max_replicas": 3}},
                ],
            },
            {"name": "hidden", "import_path": "h:app", "route_prefix": None},
        ],
    }
    assert from_config(to_config(from_config(raw))) == from_config(raw)


def test_to_config_of_an_empty_config() -> None:
    assert to_config(from_config({"applications": []})) == {"applications": []}
