"""Unit tests for gitsync.plan.diff and gitsync.plan.render on plain configs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gitsync.config.issues import format_path
from gitsync.config.model import DeployConfig, from_config, to_config
from gitsync.plan.diff import (
    GLOBAL_LOGGING_NOTE,
    MASK,
    STARTUP_ONLY_NOTE,
    UNSET,
    DeploymentChange,
    FieldChange,
    Plan,
    diff,
    prune_candidates,
)
from gitsync.plan.render import format_change, plan_to_json, render_text, summary_line
from tests.testing.tools import ROOT

SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())


def app(name: str = "fruit", **fields: Any) -> dict[str, Any]:
    return {"name": name, "import_path": "fruit:app", "route_prefix": f"/{name}", **fields}


def cfg(
    *apps: dict[str, Any], digests: dict[str, str] | None = None, **instance: Any
) -> DeployConfig:
    return from_config({**instance, "applications": list(apps)}, digests or {})


def plan_of(before: dict[str, Any], after: dict[str, Any]) -> Plan:
    """Plan for one app ``fruit`` going from ``before`` to ``after`` fields."""
    return diff(cfg(app(**after)), cfg(app(**before)))


def only_change(plan: Plan) -> FieldChange:
    (update,) = plan.update
    (change,) = update.changes
    return change


def assert_valid(plan: Plan) -> dict[str, Any]:
    document = plan_to_json(plan)
    Draft202012Validator(SCHEMA).validate(document)
    json.dumps(document)  # plain JSON all the way down
    return document


# --- create / update / delete / unchanged -------------------------------------------


def test_identical_configs_give_an_empty_plan() -> None:
    config = cfg(app("a"), app("b", deployments=[{"name": "D", "user_config": {"p": 1}}]))
    plan = diff(config, config)
    assert not plan.has_changes
    assert plan.unchanged == ("a", "b")
    assert render_text(plan) == "No changes.\n"
    assert assert_valid(plan)["changed"] is False


def test_create_update_delete_and_unchanged() -> None:
    live = cfg(
        app("keep"), app("old"), app("fruit", deployments=[{"name": "M", "num_replicas": 1}])
    )
    desired = cfg(
        app("keep"), app("new"), app("fruit", deployments=[{"name": "M", "num_replicas": 2}])
    )
    plan = diff(desired, live)
    assert [a.name for a in plan.create] == ["new"]
    assert [a.name for a in plan.update] == ["fruit"]
    assert [a.name for a in plan.delete] == ["old"]
    assert plan.unchanged == ("keep",)
    assert prune_candidates(plan) == ("old",)
    assert plan.create[0].action == "create" and plan.delete[0].action == "delete"


def test_reordering_applications_and_deployments_is_no_change() -> None:
    deps = [{"name": "A", "num_replicas": 1}, {"name": "B", "user_config": {"x": 1}}]
    live = cfg(app("x", deployments=deps), app("y"))
    desired = cfg(app("y"), app("x", deployments=deps[::-1]))
    assert not diff(desired, live).has_changes


def test_writing_defaults_explicitly_is_no_change() -> None:
    live = cfg({"name": "fruit", "import_path": "fruit:app"})
    desired = cfg(
        {
            "name": "fruit",
            "import_path": "fruit:app",
            "route_prefix": "/",
            "runtime_env": {},
            "args": {},
            "external_scaler_enabled": False,
        },
        proxy_location="EveryNode",
        http_options={"host": "0.0.0.0", "port": 8000, "keep_alive_timeout_s": 90},
        grpc_options={"port": 9000, "enable_reflection": True},
    )
    assert not diff(desired, live).has_changes


def test_explicit_option_defaults_inside_a_set_option_are_no_change() -> None:
    before = {"deployments": [{"name": "D", "ray_actor_options": {"num_cpus": 2}}]}
    after = {
        "deployments": [{"name": "D", "ray_actor_options": {"num_cpus": 2.0, "resources": {}}}]
    }
    assert not plan_of(before, after).has_changes


def test_an_override_entry_without_options_is_no_change() -> None:
    assert not plan_of({}, {"deployments": [{"name": "D"}]}).has_changes


def test_changed_fingerprint_without_a_visible_change_is_unchanged() -> None:
    plan = plan_of({"deployments": [{"name": "D"}]}, {})
    assert plan.unchanged == ("fruit",)


def test_int_float_and_bool_in_user_data_are_changes() -> None:
    for before, after in [(1, 1.0), (1, True), (0, False)]:
        change = only_change(
            plan_of(
                {"deployments": [{"name": "D", "user_config": {"p": before}}]},
                {"deployments": [{"name": "D", "user_config": {"p": after}}]},
            )
        )
        assert (change.before, change.after) == (before, after)


# --- change classes (reference/ray-serve.md §5.1) ------------------------------------

S, R, X = "scale", "reconfigure", "restart"
ASC = "autoscaling_config"
# option, before, after, leaf key inside the option ("" for the option itself), class,
# and whether every deployment of the application restarts.
DEPLOYMENT_CASES: list[tuple[str, Any, Any, str, str, bool]] = [
    ("num_replicas", 1, 2, "", S, False),
    ("num_replicas", 2, "auto", "", S, False),
    ("max_queued_requests", -1, 10, "", S, False),
    ("rolling_update_percentage", 0.2, 0.5, "", S, False),
    ("max_surge_percent", 0, 10, "", S, False),
    ("graceful_shutdown_timeout_s", 20, 30, "", S, False),
    ("health_check_period_s", 10, 5, "", S, False),
    ("health_check_timeout_s", 30, 60, "", S, False),
    ("max_constructor_retry_count", 5, 3, "", S, False),
    (ASC, {"max_replicas": 2}, {"max_replicas": 5}, "max_replicas", S, False),
    (ASC, {"min_replicas": 1}, {"min_replicas": 0}, "min_replicas", S, False),
    (ASC, {}, {"target_ongoing_requests": 4}, "target_ongoing_requests", S, False),
    (ASC, {}, {"upscale_delay_s": 5}, "upscale_delay_s", S, False),
    (ASC, {}, {"downscale_delay_s": 60}, "downscale_delay_s", S, False),
    ("user_config", {"price": 1}, {"price": 2}, "price", R, False),
    ("user_config", {"price": 1}, None, "", R, False),
    ("max_ongoing_requests", 5, 10, "", R, False),
    ("backpressure_config", {}, {"status_code": 429}, "status_code", R, False),
    ("graceful_shutdown_wait_loop_s", 2, 1, "", R, False),
    ("logging_config", {}, {"log_level": "DEBUG"}, "log_level", R, False),
    (ASC, {}, {"metrics_interval_s": 5}, "metrics_interval_s", R, False),
    (ASC, {}, {"look_back_period_s": 60}, "look_back_period_s", R, False),
    ("ray_actor_options", {"num_cpus": 1}, {"num_cpus": 2}, "num_cpus", X, False),
    ("ray_actor_options", {}, {"num_gpus": 1}, "num_gpus", X, False),
    ("ray_actor_options", {}, {"runtime_env": {"pip": ["x"]}}, "runtime_env.pip", X, False),
    ("placement_group_bundles", [{"CPU": 1}], [{"CPU": 2}], "", X, False),
    ("placement_group_strategy", "PACK", "SPREAD", "", X, False),
    ("placement_group_bundle_label_selector", [{"a": "b"}], [{"a": "c"}], "", X, False),
    ("max_replicas_per_node", 1, 2, "", X, False),
    ("gang_scheduling_config", {"gang_size": 1}, {"gang_size": 2}, "gang_size", X, False),
    (ASC, {}, {"policy": {"policy_function": "m:f"}}, "policy", X, True),
    ("request_router_config", {}, {"initial_backoff_s": 1}, "initial_backoff_s", X, True),
    ("deployment_actors", [{"name": "a", "actor_class": "m:A"}], [], "", X, True),
]


@pytest.mark.parametrize(
    ("option", "before", "after", "leaf", "klass", "everywhere"), DEPLOYMENT_CASES
)
def test_each_deployment_option_lands_in_its_class(
    option: str, before: Any, after: Any, leaf: str, klass: str, everywhere: bool
) -> None:
    plan = plan_of(
        {"deployments": [{"name": "Mango", option: before}, {"name": "Other", "num_replicas": 1}]},
        {"deployments": [{"name": "Mango", option: after}, {"name": "Other", "num_replicas": 1}]},
    )
    (update,) = plan.update
    (change,) = update.changes
    assert change.path == f"deployments.Mango.{option}" + (f".{leaf}" if leaf else "")
    assert change.change_class == klass
    assert change.all_deployments is everywhere
    assert update.change_class == klass
    assert update.restarts_all is everywhere
    if everywhere:
        assert update.deployments == (
            DeploymentChange("Mango", "changed", "restart"),
            DeploymentChange("Other", "unchanged", "restart"),
        )
    else:
        assert update.deployments == (DeploymentChange("Mango", "changed", klass),)


APP_CASES: list[tuple[dict[str, Any], dict[str, Any], str, str, bool]] = [
    ({"import_path": "fruit:app"}, {"import_path": "fruit:app2"}, "import_path", X, True),
    (
        {"runtime_env": {"env_vars": {"A": "1"}}},
        {"runtime_env": {}},
        "runtime_env.env_vars",
        X,
        True,
    ),
    ({"runtime_env": {}}, {"runtime_env": {"pip": ["torch"]}}, "runtime_env.pip", X, True),
    ({"args": {"model": "a"}}, {"args": {"model": "b"}}, "args.model", X, True),
    ({}, {"autoscaling_policy": {"policy_function": "m:f"}}, "autoscaling_policy", X, True),
    ({"route_prefix": "/fruit"}, {"route_prefix": "/fruits"}, "route_prefix", R, False),
    ({"route_prefix": "/fruit"}, {"route_prefix": None}, "route_prefix", R, False),
    ({}, {"logging_config": {"log_level": "DEBUG"}}, "logging_config", R, False),
    ({}, {"external_scaler_enabled": True}, "external_scaler_enabled", S, False),
]


@pytest.mark.parametrize(("before", "after", "path", "klass", "everywhere"), APP_CASES)
def test_each_application_field_lands_in_its_class(
    before: dict[str, Any], after: dict[str, Any], path: str, klass: str, everywhere: bool
) -> None:
    deps = [{"name": "Mango", "num_replicas": 1}]
    change = only_change(plan_of({**before, "deployments": deps}, {**after, "deployments": deps}))
    assert (change.path, change.change_class, change.all_deployments) == (path, klass, everywhere)


def test_local_code_change_restarts_every_deployment() -> None:
    raw = app(runtime_env={"working_dir": "./fruit"}, deployments=[{"name": "Mango"}])
    plan = diff(cfg(raw, digests={"fruit": "new"}), cfg(raw, digests={"fruit": "old"}))
    change = only_change(plan)
    assert change.path == "code_digest"
    assert (change.change_class, change.all_deployments) == ("restart", True)
    assert plan.update[0].deployments == (DeploymentChange("Mango", "unchanged", "restart"),)


def test_deployment_local_code_change_restarts_that_deployment() -> None:
    raw = app(
        deployments=[{"name": "M", "ray_actor_options": {"runtime_env": {"working_dir": "m"}}}]
    )
    change = only_change(diff(cfg(raw, digests={"m": "2"}), cfg(raw, digests={"m": "1"})))
    assert (change.path, change.change_class, change.all_deployments) == (
        "deployments.M.code_digest",
        "restart",
        False,
    )


def test_deployments_added_and_removed_inside_an_application() -> None:
    plan = plan_of(
        {"deployments": [{"name": "Gone", "num_replicas": 2}]},
        {"deployments": [{"name": "New", "user_config": {"a": 1}}]},
    )
    (update,) = plan.update
    assert [(c.path, c.kind, c.before, c.after) for c in update.changes] == [
        ("deployments.Gone.num_replicas", "removed", 2, UNSET),
        ("deployments.New.user_config", "added", UNSET, {"a": 1}),
    ]
    assert update.deployments == (
        DeploymentChange("Gone", "removed", "scale"),
        DeploymentChange("New", "added", "reconfigure"),
    )
    assert update.change_class == "reconfigure"


def test_a_whole_option_appearing_is_shown_without_its_defaults() -> None:
    change = only_change(
        plan_of(
            {"deployments": [{"name": "D"}]},
            {"deployments": [{"name": "D", "autoscaling_config": {"max_replicas": 3}}]},
        )
    )
    assert (change.path, change.after) == ("deployments.D.autoscaling_config", {"max_replicas": 3})
    # Appearing whole, autoscaling_config brings metrics_interval_s: an in-place reconfigure.
    assert change.change_class == "reconfigure"


def test_application_changes_are_listed_before_deployment_changes() -> None:
    plan = plan_of(
        {"import_path": "a:b", "deployments": [{"name": "A", "num_replicas": 1}]},
        {"import_path": "a:c", "deployments": [{"name": "A", "num_replicas": 2}]},
    )
    assert [c.path for c in plan.update[0].changes] == ["import_path", "deployments.A.num_replicas"]


# --- instance options ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "path", "note"),
    [
        ({}, {"http_options": {"port": 8001}}, "http_options.port", STARTUP_ONLY_NOTE),
        ({}, {"grpc_options": {"port": 9001}}, "grpc_options.port", STARTUP_ONLY_NOTE),
        ({}, {"controller_options": {}}, "controller_options", STARTUP_ONLY_NOTE),
        ({}, {"proxy_location": "HeadOnly"}, "proxy_location", STARTUP_ONLY_NOTE),
        ({}, {"target_capacity": 50}, "target_capacity", None),
        ({}, {"logging_config": {"log_level": "DEBUG"}}, "logging_config", GLOBAL_LOGGING_NOTE),
        ({}, {"tracing_config": {"enabled": True}}, "tracing_config", None),
    ],
)
def test_instance_options(
    before: dict[str, Any], after: dict[str, Any], path: str, note: str | None
) -> None:
    plan = diff(cfg(app(), **after), cfg(app(), **before))
    (change,) = plan.instance
    assert (change.path, change.note, change.change_class) == (path, note, None)
    assert plan.has_changes and plan.unchanged == ("fruit",)


# --- masking --------------------------------------------------------------------------


def test_env_vars_values_are_masked() -> None:
    change = only_change(
        plan_of(
            {"runtime_env": {"env_vars": {"HF_HOME": "/a"}}},
            {"runtime_env": {"env_vars": {"HF_HOME": "/b"}}},
        )
    )
    assert (change.before, change.after, change.sensitive) == (MASK, MASK, True)


def test_a_whole_env_vars_block_keeps_its_keys_and_hides_its_values() -> None:
    plan = plan_of(
        {},
        {
            "deployments": [
                {"name": "D", "ray_actor_options": {"runtime_env": {"env_vars": {"T": "v"}}}}
            ]
        },
    )
    change = only_change(plan)
    assert change.after == {"runtime_env": {"env_vars": {"T": MASK}}}
    assert change.sensitive


def test_credentials_in_urls_are_masked() -> None:
    change = only_change(
        plan_of(
            {"runtime_env": {"working_dir": "https://bob:hunter2@git.example.com/a.zip"}},
            {"runtime_env": {"working_dir": "https://ghp_abc123@git.example.com/b.zip"}},
        )
    )
    assert change.before == "https://***@git.example.com/a.zip"
    assert change.after == "https://***@git.example.com/b.zip"
    assert change.sensitive
    plain = only_change(plan_of({"args": {"u": "https://h/x"}}, {"args": {"u": "https://h/y"}}))
    assert (plain.after, plain.sensitive) == ("https://h/y", False)


@pytest.mark.parametrize("key", ["token", "API_KEY", "dbPassword", "client_secret", "Credentials"])
def test_secret_looking_keys_in_user_config_and_args_are_masked(key: str) -> None:
    change = only_change(plan_of({"args": {key: "old"}}, {"args": {key: "new"}}))
    assert (change.before, change.after) == (MASK, MASK)
    nested = only_change(
        plan_of(
            {"deployments": [{"name": "D", "user_config": {"db": {key: "a", "host": "h"}}}]},
            {"deployments": [{"name": "D", "user_config": {"db": {key: "b", "host": "h"}}}]},
        )
    )
    assert (nested.path, nested.after) == (f"deployments.D.user_config.db.{key}", MASK)
    whole = only_change(
        plan_of({}, {"deployments": [{"name": "D", "user_config": {key: "s", "n": 1}}]})
    )
    assert whole.after == {key: MASK, "n": 1}


def test_no_secret_reaches_either_rendering() -> None:
    secrets = ["hunter2", "sk-live-1", "ghp_zz", "envsecret"]
    live = cfg(app("gone", runtime_env={"working_dir": "https://u:hunter2@h/x.zip"}), app("fruit"))
    desired = cfg(
        app(
            "fruit",
            runtime_env={"env_vars": {"PLAIN": "envsecret"}},
            args={"api_token": "sk-live-1"},
            deployments=[{"name": "D", "user_config": {"url": "https://x:ghp_zz@h/"}}],
        ),
        app("born", import_path="https://u:hunter2@h/x.zip"),
    )
    plan = diff(desired, live)
    text = render_text(plan)
    document = json.dumps(assert_valid(plan))
    for secret in secrets:
        assert secret not in text and secret not in document


# --- rendering ------------------------------------------------------------------------


def example_plan() -> Plan:
    live = cfg(
        app("fruit_stand", deployments=[{"name": "MangoStand", "user_config": {"price": 1}}]),
        app("pricing", deployments=[{"name": "Model", "num_replicas": 1}]),
        app("old"),
        app("same"),
    )
    desired = cfg(
        app("fruit_stand", deployments=[{"name": "MangoStand", "user_config": {"price": 2}}]),
        app(
            "pricing",
            import_path="pricing:app_v2",
            runtime_env={"env_vars": {"TOKEN": "t2"}},
            deployments=[{"name": "Model", "num_replicas": 3}],
        ),
        app("calculator"),
        app("same"),
    )
    return diff(desired, live)


EXPECTED_TEXT = """\
+ create application "calculator"
~ update "fruit_stand": deployments.MangoStand.user_config.price 1 → 2 (reconfigure, in place)
~ update "pricing" (3 changes, restart):
    import_path "fruit:app" → "pricing:app_v2" (restart, all deployments replaced)
    runtime_env.env_vars (unset) → {"TOKEN": "***"} (restart, all deployments replaced)
    deployments.Model.num_replicas 1 → 3 (scale, in place)
- delete "old"

Plan: 1 to create, 2 to update (1 restart), 1 to delete.
"""


def test_text_rendering() -> None:
    assert render_text(example_plan()) == EXPECTED_TEXT


def test_text_rendering_in_colour() -> None:
    lines = render_text(example_plan(), color=True).splitlines()
    assert lines[0] == '\x1b[32m+ create application "calculator"\x1b[0m'
    assert lines[1].startswith('\x1b[33m~ update "fruit_stand"\x1b[0m: deployments.')
    assert lines[6] == '\x1b[31m- delete "old"\x1b[0m'
    assert lines[8] == "\x1b[1mPlan: 1 to create, 2 to update (1 restart), 1 to delete.\x1b[0m"
    assert "\x1b" not in render_text(example_plan())


def test_instance_changes_render_first_with_their_note() -> None:
    plan = diff(cfg(app(), http_options={"port": 8001}, target_capacity=50), cfg(app()))
    assert render_text(plan) == (
        "~ update instance options:\n"
        "    http_options.port 8000 → 8001 (applies when Serve restarts)\n"
        "    target_capacity null → 50\n"
        "\n"
        "Plan: 0 to create, 0 to update, 0 to delete, 2 instance options to change.\n"
    )


def test_summary_line_variants() -> None:
    assert summary_line(Plan()) == "No changes."
    plan = diff(cfg(app("a"), app("b")), cfg())
    assert summary_line(plan) == "Plan: 2 to create, 0 to update, 0 to delete."


def test_format_change_of_removed_value_and_odd_keys() -> None:
    change = FieldChange(("args", "a.b", 'q"x'), 1, UNSET, "restart", True)
    assert format_path(change.parts) == 'args["a.b"]["q\\"x"]'
    assert (
        format_change(change)
        == 'args["a.b"]["q\\"x"] 1 → (unset) (restart, all deployments replaced)'
    )
    assert format_path(("deployments", "my deployment", "num_replicas")) == (
        'deployments["my deployment"].num_replicas'
    )


def test_json_rendering() -> None:
    document = assert_valid(example_plan())
    assert document["summary"] == {
        "create": 1,
        "update": 2,
        "delete": 1,
        "unchanged": 1,
        "restart": 1,
        "instance": 0,
        "text": "Plan: 1 to create, 2 to update (1 restart), 1 to delete.",
    }
    assert [(a["name"], a["action"], a["change_class"]) for a in document["applications"]] == [
        ("calculator", "create", None),
        ("fruit_stand", "update", "reconfigure"),
        ("pricing", "update", "restart"),
        ("old", "delete", None),
    ]
    assert document["applications"][1]["changes"] == [
        {
            "path": "deployments.MangoStand.user_config.price",
            "parts": ["deployments", "MangoStand", "user_config", "price"],
            "kind": "changed",
            "before": 1,
            "after": 2,
            "change_class": "reconfigure",
            "all_deployments": False,
            "note": None,
            "sensitive": False,
        }
    ]
    pricing = document["applications"][2]
    assert pricing["restarts_all_deployments"] is True
    assert pricing["deployments"] == [
        {"name": "Model", "status": "changed", "change_class": "restart"}
    ]
    added = pricing["changes"][1]
    assert added["kind"] == "added" and "before" not in added and added["sensitive"] is True
    assert document["unchanged"] == ["same"]


def test_json_of_instance_changes_and_of_deletes_validates() -> None:
    plan = diff(
        cfg(grpc_options={"port": 1}), cfg(app("a", deployments=[{"name": "D", "num_replicas": 1}]))
    )
    document = assert_valid(plan)
    assert document["instance"][0]["note"] == STARTUP_ONLY_NOTE
    assert document["applications"][0]["deployments"] == [
        {"name": "D", "status": "removed", "change_class": None}
    ]


# --- counts for the prune-safety rules ------------------------------------------------


def test_counts_and_prune_fraction() -> None:
    live = cfg(app("a"), app("b"), app("c"), app("d"))
    plan = diff(cfg(app("a"), app("e"), app("b", import_path="x:y")), live)
    counts = plan.counts
    assert (counts.create, counts.update, counts.delete, counts.unchanged) == (1, 1, 2, 1)
    assert counts.live_total == 4 and counts.restart == 1
    assert counts.prune_fraction == 0.5
    assert not counts.would_remove_all
    assert prune_candidates(plan) == ("c", "d")


def test_removing_every_application_is_flagged() -> None:
    counts = diff(cfg(), cfg(app("a"), app("b"))).counts
    assert counts.would_remove_all and counts.prune_fraction == 1.0
    empty = diff(cfg(), cfg()).counts
    assert not empty.would_remove_all and empty.prune_fraction == 0.0


def test_number_types_inside_lists_are_compared_strictly() -> None:
    change = only_change(plan_of({"args": {"ids": [1, 2]}}, {"args": {"ids": [1.0, 2]}}))
    assert (change.path, change.before, change.after) == ("args.ids", [1, 2], [1.0, 2])


# --- properties on generated configs ---------------------------------------------------

_values = st.one_of(st.integers(-3, 3), st.floats(0, 2), st.booleans(), st.text("ab", max_size=2))
_deployments = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["A", "B", "C"])},
        optional={
            "num_replicas": st.integers(1, 3),
            "user_config": st.dictionaries(st.sampled_from(["p", "token"]), _values, max_size=2),
            "ray_actor_options": st.fixed_dictionaries(
                {}, optional={"num_cpus": st.integers(0, 2)}
            ),
            "autoscaling_config": st.fixed_dictionaries(
                {}, optional={"max_replicas": st.integers(1, 4), "look_back_period_s": st.just(30)}
            ),
        },
    ),
    max_size=3,
)
_apps = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.fixed_dictionaries(
        {"import_path": st.sampled_from(["m:a", "m:b"])},
        optional={
            "route_prefix": st.sampled_from(["/", "/x", None]),
            "args": st.dictionaries(st.sampled_from(["k", "password"]), _values, max_size=2),
            "deployments": _deployments,
        },
    ),
    max_size=4,
)


def _config(apps: dict[str, dict[str, Any]]) -> DeployConfig:
    return cfg(*({"name": name, **fields} for name, fields in apps.items()))


@settings(max_examples=150, deadline=None)
@given(_apps, _apps)
def test_plan_properties(live_apps: dict[str, Any], desired_apps: dict[str, Any]) -> None:
    live, desired = _config(live_apps), _config(desired_apps)
    assert not diff(live, live).has_changes
    plan = diff(desired, live)
    assert {a.name for a in plan.create} == desired_apps.keys() - live_apps.keys()
    assert {a.name for a in plan.delete} == live_apps.keys() - desired_apps.keys()
    both = desired_apps.keys() & live_apps.keys()
    assert {a.name for a in plan.update} | set(plan.unchanged) == both
    for update in plan.update:
        assert update.changes and update.change_class is not None
    back = diff(live, desired)
    assert {a.name for a in back.update} == {a.name for a in plan.update}
    assert from_config(to_config(desired)) == desired
    assert_valid(plan)
