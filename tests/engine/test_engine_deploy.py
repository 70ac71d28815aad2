"""Prepare (validation, cross-unit checks, change actions), activation, live state,
history and rollback."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from gitsync.engine import (
    NO_RUNTIME_MESSAGE,
    DeploySource,
    DirListing,
    Engine,
    FileContent,
    SessionStatus,
)
from gitsync.errors import InvalidConfig
from tests.testing.clock import ManualClock

ConfigOf = Callable[..., bytes]
T = "default"

CODE_CONFIG = b"""applications:
  - name: fruit
    route_prefix: /fruit
    import_path: fruit:app
    runtime_env: {working_dir: ./fruit}
    deployments:
      - name: Mango
        user_config: {price: 1}
"""


def deploy(engine: Engine, config: bytes, application: str = "default") -> int:
    return engine.deploy_files({"serve.yaml": config}, application=application).generation


def test_invalid_package_is_invalid_application_package(engine: Engine) -> None:
    sid = engine.create_session_from_files(T, {"serve.yaml": b"applications:\n  - name: x\n"})
    with pytest.raises(InvalidConfig) as caught:
        engine.prepare(T, sid.session_id)
    assert caught.value.error_code == "INVALID_APPLICATION_PACKAGE"
    assert caught.value.http_status == 400
    assert caught.value.issues, "each issue is reported"
    assert caught.value.message.startswith("Invalid application package:\nserve.yaml:2:")
    assert engine.list_applications(T) == []


def test_warnings_become_log_entries(engine: Engine, config_of: ConfigOf) -> None:
    config = config_of(("a", "/a")).replace(b"    import_path", b"    surprise: 1\n    import_path")
    sid = engine.create_session_from_files(T, {"serve.yaml": config}).session_id
    result = engine.prepare(T, sid)
    assert [entry.level for entry in result.log] == ["WARNING"]
    assert result.log[0].application_package
    assert result.log[0].message == (
        "serve.yaml:4:5: warning: applications[0].surprise: unknown key 'surprise': "
        "Ray ignores it, so it has no effect; if it is an argument of the application's "
        "builder, it belongs under 'args' (args: {surprise: ...})"
    )


def test_names_and_prefixes_are_unique_across_deployment_units(
    engine: Engine, config_of: ConfigOf
) -> None:
    deploy(engine, config_of(("shop", "/shop")), application="one")
    with pytest.raises(InvalidConfig) as caught:
        deploy(engine, config_of(("shop", "/other"), ("b", "/shop")), application="two")
    messages = [issue.message for issue in caught.value.issues]
    assert messages == [
        "route prefix '/shop' of application 'b' is already used by application 'shop' of "
        "deployment unit 'default.one.default'",
        "application name 'shop' is already used by deployment unit 'default.one.default'",
    ]
    assert [issue.json_path for issue in caught.value.issues] == [
        "applications[1].route_prefix",
        "applications[0].name",
    ]
    # Redeploying the same unit is not a clash with itself.
    assert deploy(engine, config_of(("shop", "/shop"), price=2), application="one") > 0


def test_change_actions(engine: Engine, config_of: ConfigOf) -> None:
    first = engine.deploy_files({"serve.yaml": config_of(("a", "/a"), ("b", "/b"))})
    assert first.actions.to_json()["create"] == ["a", "b"]
    assert first.actions.to_vespa_json() == {"restart": [], "refeed": [], "reindex": []}
    config = config_of(("a", "/a"), ("c", "/c"), price=2)
    second = engine.deploy_files({"serve.yaml": config})
    assert second.actions.create == ["c"]
    assert second.actions.delete == ["b"]
    assert second.actions.reconfigure == [
        {
            "application": "a",
            "deployment": "Model",
            "fields": ["deployments.Model.user_config.price"],
        }
    ]
    third = engine.deploy_files(
        {"serve.yaml": config.replace(b"num_replicas: 1", b"num_replicas: 3")}
    )
    assert [entry["deployment"] for entry in third.actions.scale] == ["Model", "Model"]
    fourth = engine.deploy_files(
        {
            "serve.yaml": config.replace(b"mod:app", b"mod:other").replace(
                b"num_replicas: 1", b"num_replicas: 3"
            )
        }
    )
    assert fourth.actions.restart == [
        {
            "clusterName": name,
            "clusterType": "serve-application",
            "serviceType": "deployment",
            "messages": ["import_path changed"],
            "services": [
                {
                    "serviceName": "Model",
                    "serviceType": "deployment",
                    "configId": f"{name}/Model",
                    "hostName": "localhost",
                }
            ],
        }
        for name in ("a", "c")
    ]


def test_a_code_change_is_a_restart(engine: Engine) -> None:
    files = {"serve.yaml": CODE_CONFIG, "fruit/fruit.py": b"v = 1\n"}
    engine.deploy_files(files)
    same = engine.deploy_files({**files, "README.md": b"docs"})
    assert same.actions.summary() == {
        "create": 0,
        "delete": 0,
        "restart": 0,
        "reconfigure": 0,
        "scale": 0,
    }
    changed = engine.deploy_files({**files, "fruit/fruit.py": b"v = 2\n"})
    assert [entry["clusterName"] for entry in changed.actions.restart] == ["fruit"]
    assert changed.actions.restart[0]["messages"] == ["code_digest changed"]


def test_activation_replaces_live_state_and_records_history(
    engine: Engine, config_of: ConfigOf, clock: ManualClock
) -> None:
    source = DeploySource(revision="abc123", meta={"author": "Ann", "message": "first"})
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"), ("b", "/b"))}, source=source)
    deployed_at = clock()
    clock.advance(10)
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"), price=7)})
    state = engine.live()
    assert state.generation == 3
    assert state.runtime == "none"
    assert [app.name for app in state.applications] == ["a"]
    app = state.applications[0]
    assert (app.status, app.message) == ("RUNNING", NO_RUNTIME_MESSAGE)
    assert app.last_deployed_time_s == deployed_at + 10
    assert app.deployed_app_config["deployments"][0]["user_config"] == {"price": 7}
    deployment = app.deployments[0]
    assert (deployment.name, deployment.status, deployment.replicas) == ("Model", "HEALTHY", [])
    assert deployment.deployment_config == {"num_replicas": 1, "user_config": {"price": 7}}
    history = engine.history(T)
    assert [(h.generation, h.kind, h.revision) for h in history][1:] == [(2, "deploy", "abc123")]
    assert history[1].meta == {"author": "Ann", "message": "first"}
    assert history[0].summary == {
        "create": 0,
        "delete": 1,
        "restart": 0,
        "reconfigure": 1,
        "scale": 0,
    }
    assert json.dumps(history[0].to_json())


def test_unchanged_apps_keep_their_last_deployed_time(
    engine: Engine, config_of: ConfigOf, clock: ManualClock
) -> None:
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"), ("b", "/b"))})
    start = clock()
    clock.advance(5)
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"), ("b", "/b"))})
    assert [app.last_deployed_time_s for app in engine.live().applications] == [start, start]


def test_rollback_creates_a_new_generation(engine: Engine, config_of: ConfigOf) -> None:
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"))}, source=DeploySource(revision="r1"))
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"), price=2)}, source=DeploySource("r2"))
    result = engine.rollback(T)
    assert result.generation == 4
    assert result.actions.reconfigure[0]["fields"] == ["deployments.Model.user_config.price"]
    content = engine.get_content(T, 4, "serve.yaml")
    assert isinstance(content, FileContent) and content.data == config_of(("a", "/a"))
    latest = engine.history(T)[0]
    assert (latest.generation, latest.kind, latest.revision, latest.rollback_of) == (
        4,
        "rollback",
        "r1",
        2,
    )
    # Rolling back to an explicit generation, here the newest deploy.
    assert engine.rollback(T, generation=3).generation == 5
    live_config = engine.live().config
    assert live_config is not None
    assert live_config["applications"][0]["deployments"][0]["user_config"] == {"price": 2}


def test_rollback_errors(engine: Engine, config_of: ConfigOf) -> None:
    from gitsync.errors import BadRequest, NotFound

    deploy(engine, config_of(("a", "/a")))
    with pytest.raises(BadRequest, match="^'default.default.default' has no earlier generation"):
        engine.rollback(T)
    with pytest.raises(NotFound, match="^Generation 9 of 'default.default.default' is not in"):
        engine.rollback(T, generation=9)


def test_rollback_survives_session_expiry(
    engine: Engine, config_of: ConfigOf, clock: ManualClock
) -> None:
    deploy(engine, config_of(("a", "/a")))
    deploy(engine, config_of(("a", "/a"), price=2))
    clock.advance(7200)
    assert engine.expire_sessions() == [(T, 2)]
    assert engine.rollback(T, generation=2).generation == 4


def test_serve_rest_put_get_delete(engine: Engine) -> None:
    config = {
        "applications": [
            {
                "name": "x",
                "route_prefix": "/x",
                "import_path": "m:a",
                "deployments": [{"name": "D"}],
            }
        ]
    }
    result = engine.serve_deploy(config)
    assert result.generation == 2
    assert engine.live().config == config
    assert engine.serve_deploy({"applications": []}).actions.delete == ["x"]
    assert engine.live().applications == []
    assert engine.serve_delete() is True
    assert engine.serve_delete() is False
    state = engine.live()
    assert (state.generation, state.config, state.applications) == (0, None, [])


def test_dry_run_prepares_without_activating(
    engine: Engine, zip_of: Callable[[bytes], bytes], config_of: ConfigOf
) -> None:
    result = engine.prepare_and_activate(
        T, zip_of(config_of(("a", "/a"))), "application/zip", dry_run=True
    )
    assert result.activated is False
    assert engine.get_session(T, result.generation).status is SessionStatus.PREPARED
    assert engine.list_applications(T) == []


def test_application_content_reads_the_active_session(engine: Engine, config_of: ConfigOf) -> None:
    deploy(engine, config_of(("a", "/a")), application="shop")
    info = engine.get_application(T, "shop")
    assert info.generation == 2 and len(info.checksum) == 32
    listing = engine.get_application_content(T, "shop", "default", "")
    assert isinstance(listing, DirListing) and listing.entries == ["serve.yaml"]


def test_active_code_digests(engine: Engine) -> None:
    assert engine.active_code_digests(T) == {}
    files = {"serve.yaml": CODE_CONFIG, "fruit/fruit.py": b"v = 1\n"}
    engine.deploy_files(files)
    from gitsync.config import package

    assert engine.active_code_digests(T) == {"fruit": package.tree_digest(files, "fruit")}


def test_a_generation_keeps_the_plan_it_was_prepared_with(
    engine: Engine, config_of: Callable[..., bytes]
) -> None:
    engine.deploy_files({"serve.yaml": config_of(("a", "/a"))})
    second = engine.deploy_files({"serve.yaml": config_of(("a", "/a"), ("b", "/b"))})
    plan = engine.generation_plan_text("default", "default", second.generation)
    assert plan is not None and "b" in plan
    assert engine.generation_plan_text("default", "default", 999) is None
