"""Ray Serve REST API over real HTTP; every GET body is parsed with Ray's own strict
``ServeInstanceDetails`` model."""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest

from tests.testing.api import LiveServer

BOTH_STORES = True  # the store matters here: tests/api/conftest.py runs each on both

with warnings.catch_warnings():  # Ray's models warn about pydantic deprecations on import
    warnings.simplefilter("ignore")
    from ray.serve.schema import ServeInstanceDetails

APPS = "/api/serve/applications/"
CONFIG: dict[str, Any] = {
    "proxy_location": "HeadOnly",
    "http_options": {"host": "127.0.0.1", "port": 8123},
    "logging_config": {"log_level": "DEBUG"},
    "applications": [
        {
            "name": "fruit",
            "route_prefix": "/fruit",
            "import_path": "fruit:app",
            "runtime_env": {"working_dir": "gcs://_pkg.zip", "env_vars": {"A": "1"}},
            "deployments": [
                {"name": "Mango", "num_replicas": 2, "user_config": {"price": 3}},
                {
                    "name": "Pear",
                    "num_replicas": "auto",
                    "autoscaling_config": {"min_replicas": 1, "max_replicas": 3},
                    "ray_actor_options": {"num_cpus": 0.5},
                },
            ],
        },
        {"name": "calc", "route_prefix": "/calc", "import_path": "calc:app"},
    ],
}


def _details(http: httpx.Client) -> ServeInstanceDetails:
    response = http.get(APPS)
    assert response.status_code == 200
    return ServeInstanceDetails(**response.json())


def test_empty_instance_is_rays_shape(http: httpx.Client) -> None:
    assert http.get(APPS).json() == {
        "controller_info": {},
        "proxies": {},
        "applications": {},
        "target_capacity": None,
    }
    assert _details(http).controller_info.node_id is None


def test_put_then_get_parses_strictly(http: httpx.Client) -> None:
    put = http.put(APPS, json=CONFIG)
    assert put.status_code == 200
    assert put.content == b"" and "content-type" not in put.headers
    details = _details(http)
    assert details.controller_info.node_id is not None
    assert len(details.controller_info.node_id) == 56
    assert details.proxy_location is not None and details.proxy_location.value == "HeadOnly"
    assert details.http_options is not None and details.http_options.port == 8123
    fruit = details.applications["fruit"]
    assert fruit.status.value == "RUNNING"
    assert fruit.source.value == "declarative"
    assert fruit.deployments["Mango"].target_num_replicas == 2
    assert fruit.deployments["Mango"].deployment_config.user_config == {"price": 3}
    assert fruit.deployments["Pear"].required_resources == {"CPU": 0.5}
    assert fruit.deployed_app_config is not None
    # Ray copies the global logging_config into each app's deployed config.
    body = http.get(APPS).json()
    deployed = body["applications"]["fruit"]["deployed_app_config"]
    assert deployed["logging_config"] == {"log_level": "DEBUG"}
    assert deployed["runtime_env"] == {"working_dir": "gcs://_pkg.zip", "env_vars": {"A": "1"}}
    assert set(details.applications) == {"fruit", "calc"}


def test_unlisted_applications_are_removed(http: httpx.Client) -> None:
    http.put(APPS, json=CONFIG)
    only_calc = {"applications": [CONFIG["applications"][1]]}
    assert http.put(APPS, json=only_calc).status_code == 200
    assert set(_details(http).applications) == {"calc"}


def test_api_type_filter(http: httpx.Client) -> None:
    http.put(APPS, json=CONFIG)
    assert http.get(APPS, params={"api_type": "imperative"}).json()["applications"] == {}
    assert set(http.get(APPS, params={"api_type": "declarative"}).json()["applications"]) == {
        "fruit",
        "calc",
    }
    bad = http.get(APPS, params={"api_type": "both"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("text/plain")
    assert bad.text == "Invalid 'api_type' value: 'both'. Must be one of: imperative, declarative"


def test_delete_is_harmless_twice(http: httpx.Client) -> None:
    http.put(APPS, json=CONFIG)
    assert http.delete(APPS).status_code == 200
    assert http.delete(APPS).status_code == 200
    assert http.get(APPS).json()["applications"] == {}


def test_invalid_config_is_400_text_naming_problems(http: httpx.Client) -> None:
    config = {"applications": [{"name": "a", "import_path": "nocolon"}]}
    response = http.put(APPS, json=config)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines[0] == "1 validation error for ServeDeploySchema"
    assert lines[1] == "applications[0].import_path"
    assert "import_path must be 'module:attribute'" in lines[2]
    assert http.get(APPS).json()["applications"] == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"NaN", "Request body is not valid JSON: NaN is not valid JSON"),
        (b'{"applications": [], "target_capacity": Infinity}', "Infinity is not valid JSON"),
        (b"{not json", "Request body is not valid JSON"),
        (b"[]", "Input should be a JSON object, got list"),
        (b"", "Request body is empty"),
    ],
)
def test_bad_json_bodies(http: httpx.Client, body: bytes, expected: str) -> None:
    response = http.put(APPS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert expected in response.text


def test_wrong_content_type_is_415(http: httpx.Client) -> None:
    response = http.put(APPS, content=b"applications: []", headers={"Content-Type": "text/yaml"})
    assert response.status_code == 415
    assert response.text == "Unsupported Content-Type 'text/yaml': send application/json"


def test_no_slash_variant_is_404(http: httpx.Client) -> None:
    assert http.get("/api/serve/applications").status_code == 404


def test_ray_version(http: httpx.Client) -> None:
    body = http.get("/api/ray/version").json()
    assert body["version"] == "4" and body["ray_version"] == "2.60.0"


def test_local_working_dir_is_reported_as_a_uri(live: LiveServer, http: httpx.Client) -> None:
    files = {
        "serve.yaml": b"applications:\n  - name: f\n    route_prefix: /f\n"
        b"    import_path: fruit:app\n    runtime_env: {working_dir: ./fruit}\n",
        "fruit/fruit.py": b"app = None\n",
    }
    live.engine.deploy_files(files)
    details = _details(http)
    config = details.applications["f"].deployed_app_config
    assert config is not None
    assert config.runtime_env["working_dir"].startswith("gcs://_gitsync_pkg_")


def test_v1_routes(http: httpx.Client) -> None:
    assert http.get("/api/serve/deployments/").json() == {
        "import_path": "",
        "runtime_env": {},
        "deployments": [],
    }
    assert http.get("/api/serve/deployments/status").json() == {
        "app_status": {"status": "NOT_STARTED", "message": "", "deployment_timestamp": 0},
        "deployment_statuses": [],
    }
    v1 = {
        "import_path": "mod:app",
        "host": "127.0.0.1",
        "port": 8001,
        "deployments": [{"name": "D", "num_replicas": 2}],
    }
    assert http.put("/api/serve/deployments/", json=v1).status_code == 200
    got = http.get("/api/serve/deployments/").json()
    assert got["import_path"] == "mod:app"
    assert got["host"] == "127.0.0.1" and got["port"] == 8001
    assert got["deployments"] == [{"name": "D", "num_replicas": 2}]
    status = http.get("/api/serve/deployments/status").json()
    assert status["app_status"]["status"] == "RUNNING"
    assert status["deployment_statuses"][0]["name"] == "D"
    assert status["deployment_statuses"][0]["status"] == "HEALTHY"
    # V2 sees the same unit.
    assert set(_details(http).applications) == {"default"}
    assert http.delete("/api/serve/deployments/").status_code == 200
    assert http.get("/api/serve/deployments/status").json()["deployment_statuses"] == []


def test_v1_invalid_config(http: httpx.Client) -> None:
    response = http.put("/api/serve/deployments/", content=json.dumps({"import_path": "x"}))
    assert response.status_code == 400
    assert response.text.startswith("1 validation error for ServeApplicationSchema")
