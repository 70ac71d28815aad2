"""Code from git for Ray: deterministic zips named by content, URIs in the config."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from gitsync.engine.ray_code import bundle_name, deterministic_zip, for_ray

FILES = {
    "serve/app.yaml": b"applications: []\n",
    "fruit/fruit.py": b"app = 1\n",
    "fruit/data/prices.txt": b"mango 3\n",
    "lib/helpers/__init__.py": b"",
}


def test_same_content_gives_the_same_bytes_and_name() -> None:
    first = deterministic_zip(FILES, "./fruit", keep_dir=False)
    shuffled = dict(reversed(list(FILES.items())))
    assert deterministic_zip(shuffled, "fruit/", keep_dir=False) == first
    assert bundle_name(first).startswith("_gitsync_pkg_")
    changed = deterministic_zip({**FILES, "fruit/fruit.py": b"app = 2\n"}, "fruit", keep_dir=False)
    assert bundle_name(changed) != bundle_name(first)


def test_entries_are_sorted_relative_with_fixed_time_and_mode() -> None:
    archive = zipfile.ZipFile(io.BytesIO(deterministic_zip(FILES, "fruit", keep_dir=False)))
    assert archive.namelist() == ["data/prices.txt", "fruit.py"]
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
    modules = zipfile.ZipFile(io.BytesIO(deterministic_zip(FILES, "lib/helpers", keep_dir=True)))
    assert modules.namelist() == ["helpers/__init__.py"]


def test_local_code_paths_become_gcs_uris_and_remote_ones_stay() -> None:
    config: dict[str, Any] = {
        "applications": [
            {
                "name": "fruit",
                "import_path": "fruit:app",
                "runtime_env": {
                    "working_dir": "./fruit",
                    "py_modules": ["lib/helpers", "s3://bucket/m.zip"],
                },
                "deployments": [
                    {"name": "D", "ray_actor_options": {"runtime_env": {"working_dir": "fruit"}}}
                ],
            }
        ]
    }
    out = for_ray(config, FILES)
    env = out.config["applications"][0]["runtime_env"]
    fruit = bundle_name(deterministic_zip(FILES, "fruit", keep_dir=False))
    helpers = bundle_name(deterministic_zip(FILES, "lib/helpers", keep_dir=True))
    assert env == {
        "working_dir": f"gcs://{fruit}",
        "py_modules": [f"gcs://{helpers}", "s3://bucket/m.zip"],
    }
    deployment_env = out.config["applications"][0]["deployments"][0]["ray_actor_options"]
    assert deployment_env["runtime_env"] == {"working_dir": f"gcs://{fruit}"}
    assert sorted(out.bundles) == sorted({fruit, helpers})
    assert config["applications"][0]["runtime_env"]["working_dir"] == "./fruit"  # not mutated
