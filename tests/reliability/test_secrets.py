"""Secrets never leave: one redaction (gitsync.redact) on every surface, a test each."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsync.config.schema import validate_config
from gitsync.engine.ray_auth import endpoint
from gitsync.engine.ray_client import RayClient
from gitsync.engine.runtime_options import RuntimeOptions
from gitsync.errors import RuntimeUnavailable
from gitsync.plan.diff import _scrub_url
from gitsync.redact import is_secret_key, redact_text, redact_value
from gitsync.sources.gitauth import redact as git_redact
from tests.testing.api import run_server

SECRET = "8675309"
WORD = "hunter2-secret-value"


def _app(env_vars: dict[str, object]) -> dict[str, object]:
    return {
        "applications": [
            {
                "name": "a",
                "import_path": "m:a",
                "route_prefix": "/a",
                "runtime_env": {"env_vars": env_vars},
            }
        ]
    }


def test_validation_errors_name_the_type_not_the_value() -> None:
    issues = validate_config(_app({"DB": int(SECRET), "TOKENS": [WORD]}))
    text = "\n".join(issue.render() for issue in issues)
    assert "got integer (value hidden)" in text and "got list (value hidden)" in text
    assert SECRET not in text and WORD not in text


def test_http_errors_do_not_echo_secret_values(tmp_path: Path) -> None:
    with run_server(tmp_path / "state") as server, server.client() as http:
        response = http.put("/api/serve/applications/", json=_app({"DB": int(SECRET)}))
    assert response.status_code == 400
    assert "value hidden" in response.text and SECRET not in response.text


@pytest.mark.parametrize(
    "name", ["passwd", "DB_PWD", "auth", "bearer_x", "cookie", "SESSION_ID", "api_key", "token"]
)
def test_the_secret_name_heuristic(name: str) -> None:
    assert is_secret_key(name)
    assert redact_value({name: WORD}) == {name: "***"}


@pytest.mark.parametrize(
    "text",
    [
        f"https://user:{WORD}@git.example/repo.git",
        f"https://{WORD}@git.example/repo.git",
        f"https://git.example/repo.git?private_token={WORD}",
        f"https://git.example/repo.git?ref=main&access_token={WORD}#x",
        f"https://git.example/r?token={WORD}",
        f"https://x/?passwd={WORD}&session={WORD}&cookie={WORD}&auth={WORD}",
        f"Authorization: Bearer {WORD}",
    ],
)
def test_urls_and_headers_are_redacted_by_every_scrubber(text: str) -> None:
    for scrub in (redact_text, _scrub_url, git_redact):
        assert WORD not in scrub(text), scrub


def test_ray_address_credentials_never_reach_messages() -> None:
    address = f"http://admin:{WORD}@127.0.0.1:9"
    assert WORD not in RuntimeOptions(runtime="ray", ray_address=address).describe()
    client = RayClient(address, timeout=0.5)
    assert WORD not in client.address
    with pytest.raises(RuntimeUnavailable) as caught:
        client.get_applications()
    assert WORD not in str(caught.value)


def test_the_ray_token_is_read_as_rays_cli_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "auth_token"
    token_file.write_text(WORD + "\n")
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token_file))
    target = endpoint("http://127.0.0.1:8265")
    assert target.headers == {"Authorization": f"Bearer {WORD}"}
    assert WORD not in repr(target)
    monkeypatch.setenv("RAY_AUTH_TOKEN", "other")
    assert endpoint("http://h").headers == {"Authorization": "Bearer other"}
    monkeypatch.setenv("RAY_AUTH_MODE", "")
    assert endpoint("http://h").headers == {}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_are_redacted_and_escaped(log_format: str) -> None:
    import io
    import logging

    from gitsync.agent.log import configure_logging

    stream = io.StringIO()
    configure_logging(log_format, stream=stream)
    try:
        logging.getLogger("gitsync.test").warning(
            "fetch https://bot:%s@git.example/r.git?access_token=%s failed \x1b]0;x\x07", WORD, WORD
        )
    finally:
        logging.getLogger("gitsync").handlers.clear()
    line = stream.getvalue()
    assert WORD not in line and "\x1b" not in line and "***" in line
