"""example-repo/: the config repo the README walks through.

Its YAML files load and validate clean, its code is real Ray Serve code that imports
and builds (no cluster is started), and every deployment the YAML configures exists
in the code (Ray itself only finds that out at deploy time).
"""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from gitsync.config.loader import LoadResult, load_snapshot
from gitsync.sources.directory import read_directory
from tests.testing.tools import ROOT

serve = pytest.importorskip("ray.serve")
build_app_module = pytest.importorskip("ray.serve._private.build_app")
ray_schema = pytest.importorskip("ray.serve.schema")

EXAMPLE_REPO = ROOT / "example-repo"
YAML_FILES = ["serve/apps/calculator.yaml", "serve/apps/fruit.yaml", "serve/instance.yaml"]


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    return load_snapshot(read_directory(EXAMPLE_REPO))


@pytest.fixture(scope="module")
def apps(loaded: LoadResult) -> dict[str, dict[str, Any]]:
    assert loaded.config is not None
    return {app["name"]: app for app in loaded.config["applications"]}


def import_app(app_config: dict[str, Any]) -> Any:
    """Import an application the way Ray does: ``working_dir`` on sys.path, then
    ``module:attr`` (or ``module.attr``). Leaves sys.path, sys.modules and the
    example repo (no __pycache__) as they were."""
    working_dir = EXAMPLE_REPO / app_config["runtime_env"]["working_dir"]
    import_path = app_config["import_path"]
    module_name, _, attr = import_path.rpartition(":" if ":" in import_path else ".")
    saved_path, saved_bytecode = list(sys.path), sys.dont_write_bytecode
    sys.path.insert(0, str(working_dir))
    sys.dont_write_bytecode = True
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    finally:
        sys.modules.pop(module_name, None)
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode


def built_deployments(app_config: dict[str, Any]) -> Iterator[Any]:
    application = import_app(app_config)
    assert isinstance(application, serve.Application)
    built = build_app_module.build_app(application, name=app_config["name"])
    yield from built.deployments


def test_every_yaml_file_parses_and_has_its_kind() -> None:
    found = sorted(str(p.relative_to(EXAMPLE_REPO)) for p in EXAMPLE_REPO.rglob("*.yaml"))
    assert found == YAML_FILES
    docs = {name: yaml.safe_load((EXAMPLE_REPO / name).read_text()) for name in YAML_FILES}
    assert set(docs["serve/instance.yaml"]) == {"proxy_location", "http_options", "logging_config"}
    assert docs["serve/instance.yaml"]["http_options"]["host"] == "127.0.0.1"
    assert docs["serve/apps/fruit.yaml"]["import_path"] == "fruit:app"
    assert list(docs["serve/apps/calculator.yaml"]) == ["applications"]


def test_the_repo_validates_clean(loaded: LoadResult) -> None:
    assert [issue.render() for issue in loaded.issues] == []
    assert loaded.ok
    assert loaded.files == YAML_FILES
    assert loaded.code_paths == ["calculator", "fruit"]


def test_merged_config_has_both_apps_and_the_instance_options(
    loaded: LoadResult, apps: dict[str, dict[str, Any]]
) -> None:
    assert loaded.config is not None
    assert loaded.config["proxy_location"] == "HeadOnly"
    assert loaded.config["http_options"]["port"] == 8000
    assert {name: app["route_prefix"] for name, app in apps.items()} == {
        "calculator": "/calc",
        "fruit_stand": "/fruit",
    }
    prices = {d["name"]: d.get("user_config") for d in apps["fruit_stand"]["deployments"]}
    assert prices == {
        "MangoStand": {"price": 3},
        "OrangeStand": {"price": 2},
        "PearStand": {"price": 4},
        "FruitMarket": None,
    }


def test_ray_accepts_the_merged_config_once_code_is_shipped_as_a_uri(loaded: LoadResult) -> None:
    """Ray only takes URIs for working_dir; gitsync ships the directory and names it so."""
    config = copy.deepcopy(loaded.config)
    assert config is not None
    for app in config["applications"]:
        app["runtime_env"]["working_dir"] = f"gcs://_gitsync_pkg_{app['name']}.zip"
    ray_schema.ServeDeploySchema.model_validate(config)


@pytest.mark.parametrize(
    ("app_name", "ingress", "deployments"),
    [
        ("fruit_stand", "FruitMarket", ["MangoStand", "OrangeStand", "PearStand", "FruitMarket"]),
        ("calculator", "Calculator", ["Adder", "Multiplier", "Calculator"]),
    ],
)
def test_code_imports_and_builds_the_configured_deployments(
    apps: dict[str, dict[str, Any]], app_name: str, ingress: str, deployments: list[str]
) -> None:
    app_config = apps[app_name]
    built = [d.name for d in built_deployments(app_config)]
    assert built == deployments
    assert built[-1] == ingress
    configured = [d["name"] for d in app_config["deployments"]]
    assert set(configured) <= set(built), "the YAML configures a deployment the code lacks"


def test_fruit_stands_price_from_user_config(apps: dict[str, dict[str, Any]]) -> None:
    """The stands are plain classes under the decorator: reconfigure sets the price."""
    by_name = {d.name: d for d in built_deployments(apps["fruit_stand"])}
    mango = by_name["MangoStand"].func_or_class()
    assert mango.check_price(2) == 6.0  # the code's default price
    mango.reconfigure({"price": 4})
    assert mango.check_price(2) == 8.0
    pear = by_name["PearStand"].func_or_class()
    pear.reconfigure({})
    assert pear.check_price(1) == 4.0


def test_calculator_workers_take_user_config(apps: dict[str, dict[str, Any]]) -> None:
    by_name = {d.name: d for d in built_deployments(apps["calculator"])}
    multiplier = by_name["Multiplier"].func_or_class()
    multiplier.reconfigure({"factor": 3})
    assert multiplier.apply(5) == 15.0
    adder = by_name["Adder"].func_or_class()
    adder.reconfigure({"increment": 1})
    assert adder.apply(5) == 6.0
