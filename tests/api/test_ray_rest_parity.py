"""Ray's own REST and CLI tests, re-expressed against gitsync (runtime ``none``).

Each test is named after the Ray 2.60 test it re-expresses
(``python/ray/dashboard/modules/serve/tests/test_serve_dashboard.py`` and
``python/ray/serve/tests/test_cli*.py`` in ray-project/ray). Ray's tests check replicas
answering over HTTP; with runtime ``none`` nothing runs, so these check the wire: status
codes, bodies (parsed with Ray's strict ``ServeInstanceDetails``) and the real ``serve``
CLI's output. The cases that need replicas run against a real Ray cluster in
``tests/ray/test_ray_rest_parity.py`` (``-m ray``).

Ray tests that do not apply, and why:

- ``test_get_serve_instance_details_for_imperative_apps`` and the imperative half of
  ``test_get_serve_instance_details_api_type_filtering``: imperative apps are deployed
  with ``serve.run`` through GCS, never through the REST API; gitsync only holds
  declarative configs (``?api_type=imperative`` answers no application).
- ``test_serve_namespace``, ``test_default_dashboard_agent_listen_port``,
  ``test_get_applications_while_gcs_down``: about Ray's processes (namespaces, the agent
  port, GCS failure), not the API's contract.
- ``test_run_*``, ``test_build_*``, ``test_start_*``, ``test_controller_health``: the
  ``serve run/build/start`` commands talk to GCS through ``ray.init``, never to REST.
- ``TestScaleDeploymentEndpoint`` cases that block replicas with a semaphore or a
  signal actor (``during_application_startup/upgrade/deletion``,
  ``retention_during_serve_controller_restart``): they drive Ray's controller from the
  test's own driver; the scale endpoint's codes are checked here and on Ray instead.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.testing.api import LiveServer, run_cli
from tests.testing.tools import tool_path

with warnings.catch_warnings():  # Ray's models warn about pydantic deprecations on import
    warnings.simplefilter("ignore")
    from ray.serve.schema import ServeInstanceDetails

APPS = "/api/serve/applications/"
V1 = "/api/serve/deployments/"
WORLD = "ray.serve.tests.test_config_files.world.DagNode"
MULTI: dict[str, Any] = {
    "http_options": {"host": "127.0.0.1", "port": 8000},
    "applications": [
        {
            "name": "app1",
            "route_prefix": "/app1",
            "import_path": "ray.serve.tests.test_config_files.test_dag.conditional_dag.serve_dag",
            "deployments": [
                {
                    "name": "Adder",
                    "ray_actor_options": {"runtime_env": {"env_vars": {"override_increment": "3"}}},
                },
                {
                    "name": "Multiplier",
                    "ray_actor_options": {"runtime_env": {"env_vars": {"override_factor": "4"}}},
                },
            ],
        },
        {"name": "app2", "route_prefix": "/app2", "import_path": WORLD},
    ],
}


def _details(http: httpx.Client, **params: str) -> ServeInstanceDetails:
    response = http.get(APPS, params=params)
    assert response.status_code == 200, response.text
    return ServeInstanceDetails(**response.json())


def _app_names(http: httpx.Client) -> set[str]:
    return set(_details(http).applications)


# -- test_serve_dashboard.py ---------------------------------------------------------------


def test_put_get_multi_app(http: httpx.Client) -> None:
    for _ in range(2):  # Ray checks the API is idempotent
        assert http.put(APPS, json=MULTI).status_code == 200
        details = _details(http)
        assert set(details.applications) == {"app1", "app2"}
        app1 = details.applications["app1"].deployed_app_config
        assert app1 is not None
        assert app1.model_dump(exclude_unset=True) == MULTI["applications"][0]
        # Ray's config2: an empty ray_actor_options for Adder.
        config2 = json.loads(json.dumps(MULTI))
        config2["applications"][0]["deployments"][0]["ray_actor_options"] = {}
        assert http.put(APPS, json=config2).status_code == 200
        deployed = _details(http).applications["app1"].deployed_app_config
        assert deployed is not None
        assert deployed.model_dump(exclude_unset=True) == config2["applications"][0]
        # Ray's config3: app1 overwritten with another import path.
        config3 = json.loads(json.dumps(MULTI))
        config3["applications"][0] = {"name": "app1", "route_prefix": "/app1", "import_path": WORLD}
        assert http.put(APPS, json=config3).status_code == 200
        deployed = _details(http).applications["app1"].deployed_app_config
        assert deployed is not None and deployed.import_path == WORLD


@pytest.mark.parametrize(
    "body",
    [
        {"not_a_real_field": "value"},
        {"application": [{"name": "app1", "import_path": WORLD}]},
        {"applications": None},
        {"applications": {"name": "app1", "import_path": WORLD}},
    ],
)
def test_put_bad_schema(http: httpx.Client, body: dict[str, Any]) -> None:
    assert http.put(APPS, json=MULTI).status_code == 200
    response = http.put(APPS, json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines[:2] == ["1 validation error for ServeDeploySchema", "applications"]
    # Nothing was removed, and no generation was made.
    assert _app_names(http) == {"app1", "app2"}
    assert len(http.get("/application/v2/tenant/default/application/").json()) == 1


def test_put_bad_schema_names_the_near_miss(http: httpx.Client) -> None:
    response = http.put(APPS, json={"application": []})
    assert response.text.splitlines()[2] == (
        "  Field required (the body has 'application': did you mean 'applications'?)"
    )


def test_put_duplicate_apps(http: httpx.Client) -> None:
    config = {
        "applications": [
            {"name": "app1", "route_prefix": "/a", "import_path": "module.graph"},
            {"name": "app1", "route_prefix": "/b", "import_path": "module.graph"},
        ]
    }
    response = http.put(APPS, json=config)
    assert response.status_code == 400
    assert response.text.startswith("1 validation error for ServeDeploySchema")
    assert "app1" in response.text


def test_put_duplicate_routes(http: httpx.Client) -> None:
    config = {
        "applications": [
            {"name": "app1", "route_prefix": "/alice", "import_path": "module.graph"},
            {"name": "app2", "route_prefix": "/alice", "import_path": "module.graph"},
        ]
    }
    response = http.put(APPS, json=config)
    assert response.status_code == 400
    assert "/alice" in response.text


def test_delete_multi_app(http: httpx.Client) -> None:
    for _ in range(2):
        assert http.put(APPS, json=MULTI).status_code == 200
        assert _app_names(http) == {"app1", "app2"}
        delete = http.delete(APPS)
        assert delete.status_code == 200 and delete.content == b""
        assert http.get(APPS).json() == {
            "controller_info": {},
            "proxies": {},
            "applications": {},
            "target_capacity": None,
        }


def test_get_serve_instance_details_not_started(http: httpx.Client) -> None:
    assert _details(http).target_groups == []


def test_get_serve_instance_details(http: httpx.Client) -> None:
    config: dict[str, Any] = {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": 8005},
        "grpc_options": {
            "port": 9001,
            "grpc_servicer_functions": [
                "ray.serve.generated.serve_pb2_grpc.add_UserDefinedServiceServicer_to_server"
            ],
        },
        "applications": [
            {
                "name": "app1",
                "route_prefix": "/apple",
                "import_path": WORLD,
                "deployments": [{"name": "f", "ray_actor_options": {"num_cpus": 0.2}}],
            },
        ],
    }
    assert http.put(APPS, json=config).status_code == 200
    details = _details(http)
    assert details.proxy_location is not None and details.proxy_location.value == "HeadOnly"
    assert details.http_options is not None and details.http_options.port == 8005
    assert details.grpc_options is not None and details.grpc_options.port == 9001
    assert details.controller_info.node_id and details.controller_info.actor_name
    app = details.applications["app1"]
    assert app.deployed_app_config is not None
    assert app.deployed_app_config.model_dump(exclude_unset=True) == config["applications"][0]
    assert app.route_prefix == "/apple" and app.docs_path is None
    assert app.source.value == "declarative" and app.last_deployed_time_s > 0
    assert app.deployments["f"].required_resources == {"CPU": 0.2}


def test_get_serve_instance_details_api_type_filtering(http: httpx.Client) -> None:
    assert http.put(APPS, json=MULTI).status_code == 200
    assert set(_details(http, api_type="declarative").applications) == {"app1", "app2"}
    assert _details(http, api_type="imperative").applications == {}
    unknown = http.get(APPS, params={"api_type": "unknown"})
    assert unknown.status_code == 400
    assert "Invalid 'api_type' value" in unknown.text
    assert "Must be one of: imperative, declarative" in unknown.text


def test_get_serve_instance_details_invalid_api_type(http: httpx.Client) -> None:
    for value in ("invalid_type", "python"):
        response = http.get(APPS, params={"api_type": value})
        assert response.status_code == 400
        assert response.text == (
            f"Invalid 'api_type' value: '{value}'. Must be one of: imperative, declarative"
        )


def test_get_serve_instance_details_api_type_case_insensitive(http: httpx.Client) -> None:
    config = {"applications": [{"name": "test_app", "route_prefix": "/test", "import_path": WORLD}]}
    assert http.put(APPS, json=config).status_code == 200
    for value in ("DECLARATIVE", "Declarative", "declarative", "DeClArAtIvE"):
        assert set(_details(http, api_type=value).applications) == {"test_app"}
    assert _details(http, api_type="IMPERATIVE").applications == {}


# -- the V1 routes of Ray 2.0-2.x (test_serve_agent.py of those releases) -------------------

V1_CONFIG: dict[str, Any] = {
    "import_path": "dir.subdir.a.add_and_sub.serve_dag",
    "runtime_env": {"working_dir": "https://example.org/test_dag.zip"},
    "deployments": [{"name": "Subtract", "num_replicas": 2}],
}


def test_put_get_success(http: httpx.Client) -> None:
    """Ray's V1 ``test_put_get_success``: GET gives back what was PUT, nothing added."""
    assert http.get(V1).json() == {"import_path": "", "runtime_env": {}, "deployments": []}
    for config in (V1_CONFIG, {**V1_CONFIG, "host": "127.0.0.1", "port": 8001}):
        assert http.put(V1, json=config).status_code == 200
        assert http.get(V1).json() == config


def test_v1_put_after_v2_is_refused(http: httpx.Client) -> None:
    assert http.put(APPS, json=MULTI).status_code == 200
    response = http.put(V1, json=V1_CONFIG)
    assert response.status_code == 400
    assert response.text.startswith(
        "You are trying to deploy a single-application config, however a "
        "multi-application config has been deployed"
    )
    assert _app_names(http) == {"app1", "app2"}
    # After a shutdown, either API may start afresh (as after `serve shutdown` on Ray).
    assert http.delete(APPS).status_code == 200
    assert http.put(V1, json=V1_CONFIG).status_code == 200
    assert http.get(V1).json() == V1_CONFIG


def test_v2_put_after_v1_is_refused(http: httpx.Client) -> None:
    assert http.put(V1, json=V1_CONFIG).status_code == 200
    response = http.put(APPS, json=MULTI)
    assert response.status_code == 400
    assert "a single-application config has been deployed" in response.text
    assert http.get(V1).json() == V1_CONFIG


def test_v1_config_with_a_name_is_refused(http: httpx.Client) -> None:
    response = http.put(V1, json={**V1_CONFIG, "name": "app"})
    assert response.status_code == 400
    assert response.text.startswith(
        "Specifying the name of an application is only allowed for apps that are listed "
        "as part of a multi-app config file."
    )
    assert http.get(V1).json()["import_path"] == ""


def test_put_bad_schema_v1(http: httpx.Client) -> None:
    response = http.put(V1, json={"not_a_real_field": "value"})
    assert response.status_code == 400
    assert response.text.startswith("1 validation error for ServeApplicationSchema")


# -- test_cli.py / test_cli_2.py: the real `serve` CLI ---------------------------------------


def _serve(live: LiveServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli([tool_path("serve"), *args, "-a", live.url], cwd, {"RAY_DASHBOARD_ADDRESS": ""})


PIZZA_WORLD = """\
applications:
  - name: app1
    route_prefix: /app1
    import_path: ray.serve.tests.test_config_files.world.DagNode
  - name: app2
    route_prefix: /app2
    import_path: ray.serve.tests.test_config_files.test_dag.conditional_dag.serve_dag
    deployments:
      - name: Multiplier
        user_config: {factor: 5}
"""


@pytest.mark.slow
def test_status_multi_app(live: LiveServer, tmp_path: Path) -> None:
    assert _serve(live, tmp_path, "status").returncode == 0  # nothing deployed yet
    config = tmp_path / "pizza_world.yaml"
    config.write_text(PIZZA_WORLD)
    assert _serve(live, tmp_path, "deploy", str(config)).returncode == 0
    status = _serve(live, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "app1:\n    status: RUNNING" in status.stdout
    assert "app2:\n    status: RUNNING" in status.stdout
    assert "Multiplier:\n        status: HEALTHY" in status.stdout


@pytest.mark.slow
def test_config_multi_app(live: LiveServer, tmp_path: Path) -> None:
    config = tmp_path / "pizza_world.yaml"
    config.write_text(PIZZA_WORLD)
    assert _serve(live, tmp_path, "deploy", str(config)).returncode == 0
    shown = _serve(live, tmp_path, "config")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("---") == 1  # one document per application
    assert "factor: 5" in shown.stdout
    one = _serve(live, tmp_path, "config", "-n", "app1")
    assert "name: app1" in one.stdout and "app2" not in one.stdout


@pytest.mark.slow
def test_shutdown(live: LiveServer, tmp_path: Path) -> None:
    assert _serve(live, tmp_path, "shutdown", "-y").returncode == 0  # nothing running
    config = tmp_path / "basic_graph.yaml"
    config.write_text("applications:\n  - name: default\n    import_path: " + WORLD + "\n")
    for _ in range(2):
        assert _serve(live, tmp_path, "deploy", str(config)).returncode == 0
        assert "default" in _serve(live, tmp_path, "status").stdout
        assert _serve(live, tmp_path, "shutdown", "-y").returncode == 0
        assert _serve(live, tmp_path, "config").stdout.strip() == "No configuration was found."
        assert "applications: {}" in _serve(live, tmp_path, "status").stdout


# -- TestScaleDeploymentEndpoint (Ray 2.60's POST …/scale) ----------------------------------

SCALE = "/api/v1/applications/{app}/deployments/{dep}/scale"
SCALABLE: dict[str, Any] = {
    "applications": [
        {
            "name": "test_app",
            "route_prefix": "/",
            "import_path": "shop:app",
            "external_scaler_enabled": True,
            "deployments": [{"name": "hello_world", "num_replicas": 1}],
        },
        {"name": "fixed", "route_prefix": "/fixed", "import_path": "shop:app"},
    ]
}


def _scale(
    http: httpx.Client, replicas: Any, app: str = "test_app", dep: str = "hello_world"
) -> httpx.Response:
    return http.post(SCALE.format(app=app, dep=dep), json={"target_num_replicas": replicas})


def _target(http: httpx.Client, app: str = "test_app", dep: str = "hello_world") -> int:
    return _details(http).applications[app].deployments[dep].target_num_replicas


def test_scale_deployment_endpoint_comprehensive(http: httpx.Client) -> None:
    assert http.put(APPS, json=SCALABLE).status_code == 200
    for replicas in (3, 1, 2):
        response = _scale(http, replicas)
        assert response.status_code == 200
        assert response.json() == {
            "message": "Scaling request received. Deployment will get scaled asynchronously."
        }
        assert _target(http) == replicas
    # Each scale is a generation whose source says so, and the plan classed it `scale`.
    newest = http.get("/api/gitsync/v1/tenant/default/application/default/history").json()[0]
    assert newest["meta"]["source"] == "scale"
    assert newest["summary"]["scale"] == 1 and newest["summary"]["restart"] == 0


def test_scale_deployment_error_case(http: httpx.Client) -> None:
    # No Serve instance at all: Ray's 503.
    none = _scale(http, 2)
    assert (none.status_code, none.json()) == (503, {"error": "Serve controller is not available"})
    assert http.put(APPS, json=SCALABLE).status_code == 200
    for app, dep in (("nonexistent", "hello_world"), ("test_app", "nonexistent")):
        missing = _scale(http, 2, app, dep)
        assert missing.status_code == 404
        assert missing.json() == {"error": "Application or Deployment not found"}
    bad = http.post(SCALE.format(app="test_app", dep="hello_world"), json={"invalid_field": 2})
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("Invalid request body: 1 validation error for")
    for value in (-1, "3", 2.5, True, None):
        assert _scale(http, value).status_code == 400
    not_json = http.post(SCALE.format(app="test_app", dep="hello_world"), content=b"{")
    assert not_json.status_code == 400 and "Invalid request body" in not_json.json()["error"]
    # External scaling not enabled on the application: Ray's 412 and message.
    disabled = _scale(http, 2, "fixed", "anything")
    assert disabled.status_code == 412
    assert disabled.json()["error"].startswith(
        "Cannot update replicas for deployment 'anything' in application 'fixed'. The external "
        "scaling API can only be used when 'external_scaler_enabled' is set to true"
    )
    # Zero replicas cannot be written into a declarative config (stricter than Ray).
    zero = _scale(http, 0)
    assert zero.status_code == 400 and "num_replicas must be at least 1" in zero.json()["error"]
    assert _target(http) == 1  # nothing of the above changed anything
    assert len(http.get("/application/v2/tenant/default/application/").json()) == 1
