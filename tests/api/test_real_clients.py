"""The real clients against the engine: Ray's ``serve`` CLI, the ``vespa`` Go binary
(not the pip wrapper, which always exits 0) and ``curl``. Exit codes and output asserted."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from gitsync.config import package
from tests.testing.api import LiveServer, run_cli
from tests.testing.configs import SERVICES_XML, package_files, write_package
from tests.testing.tools import tool_path, vespa_binary

pytestmark = pytest.mark.slow


class Vespa:
    def __init__(self, live: LiveServer, home: Path) -> None:
        self.live = live
        self.env = {"VESPA_CLI_HOME": str(home), "VESPA_CLI_CACHE_DIR": str(home / "cache")}
        self.cwd = home

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli([vespa_binary(), *args, "-t", self.live.url], self.cwd, self.env)


@pytest.fixture
def vespa(live: LiveServer, tmp_path: Path) -> Vespa:
    home = tmp_path / "vespa-home"
    home.mkdir()
    return Vespa(live, home)


def test_vespa_cli_full_cycle(vespa: Vespa, tmp_path: Path) -> None:
    app = write_package(tmp_path / "app", package_files(("app1", "/a")))
    deployed = vespa("deploy", str(app))
    assert deployed.returncode == 0, deployed.stderr
    assert f"Success: Deployed '{app}' with session ID 2" in deployed.stdout

    prepared = vespa("prepare", str(app))
    assert prepared.returncode == 0, prepared.stderr
    assert f"Success: Prepared '{app}' with session 3" in prepared.stdout
    activated = vespa("activate")
    assert activated.returncode == 0, activated.stderr
    assert "Success: Activated application with session 3" in activated.stdout

    status = vespa("status", "deploy")
    assert status.returncode == 0
    assert f"Deploy API at {vespa.live.url} is ready" in status.stdout
    deployment = vespa("status", "deployment")
    assert deployment.returncode == 0
    assert "Deployment is ready on config generation 3" in deployment.stdout

    target = tmp_path / "fetched.zip"
    fetched = vespa("fetch", str(target))
    assert fetched.returncode == 0, fetched.stderr
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["serve.yaml", "services.xml"]
        assert archive.read("services.xml") == SERVICES_XML

    waited = vespa("deploy", "--wait", "5", str(app))
    assert waited.returncode == 0, waited.stderr
    assert f"Success: Deployed '{app}' with session ID 4" in waited.stdout


def test_vespa_cli_prints_the_engines_messages(vespa: Vespa, tmp_path: Path) -> None:
    bad = write_package(
        tmp_path / "bad",
        {"services.xml": SERVICES_XML, "serve.yaml": b"applications:\n  - name: a\n"},
    )
    failed = vespa("deploy", str(bad))
    assert failed.returncode == 1
    assert "Invalid application package" in failed.stderr
    assert "import_path" in failed.stderr

    good = write_package(tmp_path / "good", package_files(("app1", "/a")))
    # The invalid package was refused before any session: 2 is prepared, 3 and 4 activated.
    assert vespa("prepare", str(good)).returncode == 0
    assert vespa("deploy", str(good)).returncode == 0
    assert vespa("deploy", str(good)).returncode == 0
    conflict = vespa("activate")
    assert conflict.returncode == 1
    assert "ACTIVATION_CONFLICT" in conflict.stderr
    assert "Cannot activate session 2, because it is older than current active session (4)" in (
        conflict.stderr
    )


def test_serve_cli(live: LiveServer, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "applications:\n"
        "  - name: app1\n    route_prefix: /a\n    import_path: mod:app\n"
        "    deployments:\n      - name: Model\n        num_replicas: 2\n"
    )
    serve = tool_path("serve")
    env = {"RAY_DASHBOARD_ADDRESS": ""}

    deployed = run_cli([serve, "deploy", str(config), "-a", live.url], tmp_path, env)
    assert deployed.returncode == 0, deployed.stderr
    assert "Sent deploy request successfully." in deployed.stdout + deployed.stderr

    status = run_cli([serve, "status", "-a", live.url], tmp_path, env)
    assert status.returncode == 0, status.stderr
    assert "app1:\n    status: RUNNING" in status.stdout
    assert "Model:\n        status: HEALTHY" in status.stdout

    shown = run_cli([serve, "config", "-a", live.url], tmp_path, env)
    assert shown.returncode == 0, shown.stderr
    assert "name: app1" in shown.stdout and "num_replicas: 2" in shown.stdout

    down = run_cli([serve, "shutdown", "-y", "-a", live.url], tmp_path, env)
    assert down.returncode == 0, down.stderr
    assert "Sent shutdown request" in down.stdout + down.stderr

    again = run_cli([serve, "shutdown", "-y", "-a", live.url], tmp_path, env)
    assert again.returncode == 0
    assert "No Serve instance found" in again.stdout + again.stderr


def test_serve_cli_invalid_config_prints_the_engines_message(
    live: LiveServer, tmp_path: Path
) -> None:
    # Valid for Ray's local check, refused by the engine: a route prefix clash across
    # deployment units of the tenant is caught at prepare.
    live.engine.deploy_files(
        {
            "serve.yaml": b"applications:\n  - name: other\n    route_prefix: /a\n"
            b"    import_path: m:app\n"
        },
        application="unit2",
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "applications:\n  - name: app1\n    route_prefix: /a\n    import_path: mod:app\n"
    )
    failed = run_cli([tool_path("serve"), "deploy", str(config), "-a", live.url], tmp_path, {})
    assert failed.returncode == 1
    assert "Request failed with status code 400" in failed.stderr
    assert "route prefix '/a' of application 'app1' is already used" in failed.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_recipes(live: LiveServer, tmp_path: Path) -> None:
    zipped = tmp_path / "app.zip"
    zipped.write_bytes(package.build_zip(package_files(("app1", "/a"))))
    v2 = f"{live.url}/application/v2/tenant/default"

    def curl(*args: str) -> str:
        done = subprocess.run(
            ["curl", "-s", "-S", "--fail-with-body", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    out = curl(
        "--header",
        "Content-Type:application/zip",
        "--data-binary",
        f"@{zipped}",
        f"{v2}/prepareandactivate",
    )
    assert '"session-id":"2"' in out and '"activated":true' in out
    head = curl("--head", f"{live.url}/ApplicationStatus")
    assert head.startswith("HTTP/1.1 200 OK")
    tgz = tmp_path / "app.tar.gz"
    tgz.write_bytes(package.build_tar_gz(package_files(("app1", "/a"), price=2)))
    created = curl(
        "--header",
        "Content-Type:application/x-gzip",
        "--data-binary",
        f"@{tgz}",
        f"{v2}/session",
    )
    assert '"session-id":"3"' in created
    curl("-X", "PUT", f"{v2}/session/3/content/files/")
    curl("-X", "PUT", "--data-binary", "hello", f"{v2}/session/3/content/files/test1.txt")
    curl("-X", "PUT", f"{v2}/session/3/prepared?applicationName=default")
    activated = curl("-X", "PUT", f"{v2}/session/3/active")
    assert "Session 3 for tenant 'default' activated." in activated
    app_url = f"http://127.0.0.1:{live.port}/application/v2/tenant/default/application/default/environment/prod/region/default/instance/default"
    copied = curl("-X", "POST", f"{v2}/session?from={app_url}")
    assert '"session-id":"4"' in copied
