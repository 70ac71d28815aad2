"""The Ray runtime against a Ray 2.60 cluster with token authentication on.

One private cluster started with ``RAY_AUTH_MODE=token``; ``gitsync engine --runtime
ray`` run as a process finds the token the way Ray's own CLI does: from
``RAY_AUTH_TOKEN_PATH``, from ``RAY_AUTH_TOKEN``, and from ``~/.ray/auth_token`` (a
private HOME: the real default file would turn token auth on for every other cluster
started on this machine). Each deploys and sees its application RUNNING; an engine
with a wrong token says so. The token never appears in a log line, a status, a CLI
answer or an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.testing.engine import EngineProcess
from tests.testing.raycluster import RayCluster, start_cluster
from tests.testing.tools import run_gitsync
from tests.testing.wait import free_port, wait_until

pytestmark = pytest.mark.ray

TOKEN = "gsraytok-" + secrets.token_hex(16)
WRONG = "gswrong-" + secrets.token_hex(16)
SETTLE_S = 300.0  # a shared 2-core machine: generous, never a timing assertion
# The dashboard's first Serve answer after start can take seconds on a loaded machine.
DASHBOARD_S = 120.0
HELLO = """from ray import serve


@serve.deployment
class Hello:
    def __init__(self):
        self.price = 0

    def reconfigure(self, config):
        self.price = config["price"]

    def __call__(self, request):
        return f"hello {self.price}"


app = Hello.bind()
"""


@pytest.fixture(scope="module")
def token_cluster() -> Iterator[RayCluster]:
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN}
    cluster = start_cluster(num_cpus=2, env=env, token=TOKEN)
    try:
        yield cluster
    finally:
        cluster.stop()  # SIGINT to its own `ray start --block`, by pid


def _source(root: Path, price: int) -> Path:
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "code" / "hello.py").write_text(HELLO)
    (root / "serve.yaml").write_text(
        f"http_options: {{host: 127.0.0.1, port: {free_port()}}}\n"
        "applications:\n"
        "  - name: hello\n"
        "    route_prefix: /hello\n"
        "    import_path: hello:app\n"
        "    runtime_env: {working_dir: ./code}\n"
        "    deployments:\n"
        "      - name: Hello\n"
        "        num_replicas: 1\n"
        f"        user_config: {{price: {price}}}\n"
        "        ray_actor_options: {num_cpus: 0.1}\n"
    )
    return root


def _environment(tmp_path: Path, how: str) -> dict[str, str]:
    """This environment with token auth on and the token where ``how`` says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env["RAY_AUTH_MODE"] = "token"
    if how == "env":
        env["RAY_AUTH_TOKEN"] = TOKEN
    elif how == "path":
        token_file = tmp_path / "secrets" / "ray-token"
        token_file.parent.mkdir()
        token_file.write_text(TOKEN + "\n")
        env["RAY_AUTH_TOKEN_PATH"] = str(token_file)
    elif how == "default":
        home = tmp_path / "home"
        (home / ".ray").mkdir(parents=True)
        (home / ".ray" / "auth_token").write_text(TOKEN)
        env["HOME"] = str(home)
    else:  # "wrong"
        env["RAY_AUTH_TOKEN"] = WRONG
    return env


def _hello(engine: EngineProcess) -> dict[str, object] | None:
    body = httpx.get(engine.url + "/api/serve/applications/", timeout=DASHBOARD_S).json()
    app: dict[str, object] | None = body.get("applications", {}).get("hello")
    return app


def _status(engine: EngineProcess) -> object:
    app = _hello(engine)
    return app.get("status") if app else None


def _surfaces(engine: EngineProcess) -> list[str]:
    """Everything a user reads about this engine: its answers, the CLI's, its log."""
    texts = [engine.log.read_text(errors="replace")]
    for path in (
        "/api/serve/applications/",
        "/api/gitsync/v1/tenant/default/application/default/live",
        "/api/gitsync/v1/tenant/default/application/default/history",
        "/application/v2/tenant/default/application/default",
        "/metrics",
        "/",
    ):
        texts.append(httpx.get(engine.url + path, timeout=30).text)
    for command in (["status"], ["history"], ["status", "-o", "json"]):
        done = run_gitsync(*command, "--engine", engine.url)
        texts.append(done.stdout + done.stderr)
    return texts


def test_the_cluster_refuses_requests_without_the_token(token_cluster: RayCluster) -> None:
    apps = token_cluster.dashboard + "/api/serve/applications/"
    with httpx.Client(timeout=DASHBOARD_S) as http:
        assert http.get(apps).status_code == 401
        assert http.get(apps, headers={"Authorization": f"Bearer {WRONG}"}).status_code == 403
        assert http.get(apps, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("how", ["path", "env", "default"])
def test_the_engine_deploys_to_a_token_cluster(
    tmp_path: Path, token_cluster: RayCluster, how: str
) -> None:
    engine = EngineProcess(
        tmp_path / "state",
        tmp_path / "engine.log",
        extra=["--runtime", "ray", "--ray-address", token_cluster.dashboard],
        env=_environment(tmp_path, how),
    ).start()
    try:
        price = {"path": 1, "env": 2, "default": 3}[how]
        synced = run_gitsync(
            "sync", str(_source(tmp_path / "src", price)), "--engine", engine.url, timeout_s=300
        )
        assert synced.returncode == 0, synced.stdout + synced.stderr
        settled = wait_until(
            lambda: _status(engine) if _status(engine) in ("RUNNING", "DEPLOY_FAILED") else None,
            "hello to settle",
            timeout_s=SETTLE_S,
        )
        assert settled == "RUNNING", _hello(engine)
        # Ray itself, asked with the token, runs what the engine deployed
        direct = httpx.get(
            token_cluster.dashboard + "/api/serve/applications/",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=DASHBOARD_S,
        ).json()["applications"]["hello"]
        assert direct["status"] == "RUNNING"
        config = direct["deployed_app_config"]["deployments"][0]
        assert config["user_config"] == {"price": price}
        texts = [synced.stdout + synced.stderr, *_surfaces(engine)]
    finally:
        engine.stop()
    for text in [*texts, engine.log.read_text(errors="replace")]:
        assert TOKEN not in text


def test_a_wrong_token_is_an_error_that_does_not_show_it(
    tmp_path: Path, token_cluster: RayCluster
) -> None:
    engine = EngineProcess(
        tmp_path / "state",
        tmp_path / "engine.log",
        extra=["--runtime", "ray", "--ray-address", token_cluster.dashboard],
        env=_environment(tmp_path, "wrong"),
    ).start()
    try:
        synced = run_gitsync(
            "sync", str(_source(tmp_path / "src", 9)), "--engine", engine.url, timeout_s=300
        )
        said = synced.stdout + synced.stderr

        def refused() -> str | None:
            app = _hello(engine) or {}
            if "403: Forbidden: Invalid authentication token" not in str(app.get("message")):
                return None  # Ray's refusal, in the application's status
            return "\n".join(_surfaces(engine))

        text = wait_until(refused, "the engine to report Ray's refusal", timeout_s=SETTLE_S)
    finally:
        engine.stop()
    for seen in (said, text, engine.log.read_text(errors="replace")):
        assert WRONG not in seen and TOKEN not in seen
