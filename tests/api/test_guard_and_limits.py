"""Auth, the browser guard, the body cap and bad input: always a 4xx with a message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitsync.config import package
from tests.testing.api import LiveServer, run_server

V2 = "/application/v2/tenant/default"
ZIP = {"Content-Type": "application/zip"}


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(tmp_path / "state", token="s3cret", max_body=4096) as server:
        yield server


def test_token_required_for_mutations(guarded: LiveServer, zip_package: bytes) -> None:
    with guarded.client() as http:
        missing = http.put("/api/serve/applications/", json={"applications": []})
        assert missing.status_code == 401
        assert missing.text == "Missing 'Authorization: Bearer <token>' header"
        wrong = http.post(
            f"{V2}/session",
            content=zip_package,
            headers={**ZIP, "Authorization": "Bearer nope"},
        )
        assert wrong.status_code == 403
        assert wrong.json() == {"error-code": "FORBIDDEN", "message": "Invalid token"}
        ok = http.post(
            f"{V2}/session",
            content=zip_package,
            headers={**ZIP, "Authorization": "Bearer s3cret"},
        )
        assert ok.status_code == 200
        # Reads need the token too, loopback or not; health and metrics stay open.
        assert http.get("/api/serve/applications/").status_code == 401
        assert http.get(f"{V2}/session/2/content/").status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert http.get("/api/serve/applications/", headers=auth).status_code == 200
        assert http.get(f"{V2}/session/2/content/", headers=auth).status_code == 200
        assert http.get("/state/v1/health").status_code == 200


def test_browser_traffic_cannot_mutate(live: LiveServer, http: httpx.Client) -> None:
    for headers in (
        {"User-Agent": "Mozilla/5.0"},
        {"Origin": "http://evil.example"},
        {"Referer": "http://evil.example/"},
        {"Sec-Fetch-Mode": "cors"},
    ):
        response = http.put("/api/serve/applications/", json={"applications": []}, headers=headers)
        assert response.status_code == 405
        assert response.text == "'PUT' method not allowed for browser traffic."
    vespa = http.post(f"{V2}/session", headers={"Origin": "http://x"})
    assert vespa.json() == {
        "error-code": "METHOD_NOT_ALLOWED",
        "message": "'POST' method not allowed for browser traffic.",
    }
    assert http.get("/api/serve/applications/", headers={"User-Agent": "Mozilla/5.0"}).is_success


def test_oversized_bodies_are_413(guarded: LiveServer) -> None:
    auth = {"Authorization": "Bearer s3cret"}
    with guarded.client(headers=auth) as http:
        declared = http.post(f"{V2}/session", content=b"x" * 5000, headers=ZIP)
        assert declared.status_code == 413
        assert declared.json() == {
            "error-code": "BAD_REQUEST",
            "message": "Request body is too large (5000 > 4096 bytes)",
        }

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"y" * 1000

        chunked = http.post(f"{V2}/prepareandactivate", content=chunks(), headers=ZIP)
        assert chunked.status_code == 413
        assert chunked.json()["message"].startswith("Request body is too large")


def test_chunked_upload_is_accepted(http: httpx.Client) -> None:
    data = package.build_zip({"services.xml": b"<services/>", "s.yaml": b"applications: []\n"})

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    response = http.post(f"{V2}/prepareandactivate", content=chunks(), headers=ZIP)
    assert response.status_code == 200, response.text
    assert response.json()["session-id"] == "2"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", f"{V2}/session", {"content": b"PK\x03\x04garbage", "headers": ZIP}, 400),
        (
            "POST",
            f"{V2}/prepareandactivate",
            {"content": b"\x1f\x8bzz", "headers": {"Content-Type": "application/x-gzip"}},
            400,
        ),
        ("PUT", f"{V2}/session/18446744073709551616/prepared", {}, 400),
        ("PUT", f"{V2}/session/-1/active", {}, 400),
        ("GET", f"{V2}/session/%2e%2e/content/", {}, 400),
        ("PUT", "/application/v2/tenant/..%2Fx", {}, 404),
        ("PUT", "/application/v2/tenant/bad.name", {}, 400),
        (
            "PUT",
            "/api/serve/applications/",
            {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        (
            "PUT",
            "/api/serve/applications/",
            {"content": json.dumps({"applications": "x"}).encode()},
            400,
        ),
        ("PUT", "/api/serve/applications/", {"content": b"[" * 100000}, 400),
        ("GET", f"{V2}/session/2/content/x", {}, 404),
        ("POST", f"{V2}/session?timeout=NaN", {"content": b"x", "headers": ZIP}, 400),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(
    http: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = http.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.text
    assert "Traceback" not in response.text
