"""The agents' lease over HTTP on a live engine (both stores): claim, 409 with the holder,
renew, release, the fence on deploy, clear 400s, and the guard (token) in front."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from gitsync.config import package
from tests.testing.api import LiveServer, run_server
from tests.testing.configs import package_files

BOTH_STORES = True  # the store matters here: tests/api/conftest.py runs each on both

UNIT = "/api/gitsync/v1/tenant/default/application/shop"


def _deploy(http: httpx.Client, lease: dict[str, object] | None) -> httpx.Response:
    headers = {"Content-Type": "application/zip"}
    if lease is not None:
        headers["X-Gitsync-Lease"] = json.dumps(lease)
    body = package.build_zip(package_files(("app1", "/a")))
    return http.post(UNIT + "/deploy", content=body, headers=headers)


def test_claim_refuse_renew_fence_and_release(live: LiveServer, http: httpx.Client) -> None:
    assert http.get(UNIT + "/lease").json() == {"lease": None}
    claim = {"holder": "a", "ttlSeconds": 30, "info": {"url": "http://a:1"}}
    taken = http.post(UNIT + "/lease", json=claim)
    assert taken.status_code == 200, taken.text
    assert taken.json()["epoch"] == 1 and taken.json()["held"] is True

    refused = http.post(UNIT + "/lease", json={"holder": "b", "ttlSeconds": 30})
    assert refused.status_code == 409
    body = refused.json()
    assert body["error-code"] == "LEASE_HELD"
    assert body["lease"]["holder"] == "a" and body["lease"]["info"] == {"url": "http://a:1"}
    assert http.get(UNIT + "/lease").json()["lease"]["holder"] == "a"

    renewed = http.post(UNIT + "/lease", json={**claim, "epoch": 1})
    assert renewed.status_code == 200 and renewed.json()["epoch"] == 1

    fenced = _deploy(http, {"holder": "b", "epoch": 1})
    assert fenced.status_code == 409 and fenced.json()["error-code"] == "LEASE_HELD"
    assert http.get(UNIT + "/history").json() == []  # nothing was activated
    assert _deploy(http, {"holder": "a", "epoch": 1}).status_code == 200
    assert _deploy(http, None).status_code == 200  # not fenced: e.g. a person's sync

    assert http.delete(UNIT + "/lease", params={"holder": "a", "epoch": "1"}).status_code == 204
    after = http.post(UNIT + "/lease", json={"holder": "b", "ttlSeconds": 30})
    assert after.status_code == 200 and after.json()["epoch"] == 2
    stale = http.post(UNIT + "/reapply", headers={"X-Gitsync-Lease": '{"holder":"a","epoch":1}'})
    assert stale.status_code == 409


def test_bad_requests_are_400(http: httpx.Client) -> None:
    for body, message in (
        (b"not json", "Request body"),
        (b"[]", "JSON object"),
        (b'{"ttlSeconds": 10}', "holder must be a string"),
        (b'{"holder": "a", "ttlSeconds": true}', "ttlSeconds must be a number"),
        (b'{"holder": "a", "ttlSeconds": 10, "epoch": "x"}', "epoch must be an integer"),
        (b'{"holder": "a", "ttlSeconds": 10, "info": []}', "info must be a JSON object"),
        (b'{"holder": "a", "ttlSeconds": 0}', "ttlSeconds must be between 1 and 600"),
    ):
        response = http.post(UNIT + "/lease", content=body)
        assert response.status_code == 400, body
        assert message in response.text  # errors of /api/ routes are text, as Ray's
    assert http.delete(UNIT + "/lease").status_code == 400
    assert http.delete(UNIT + "/lease", params={"holder": "a", "epoch": "x"}).status_code == 400
    bad_name = "/api/gitsync/v1/tenant/default/application/no%20pe/lease"
    assert http.get(bad_name).status_code == 400
    header = {"X-Gitsync-Lease": "nope", "Content-Type": "application/zip"}
    body = package.build_zip(package_files(("app1", "/a")))
    assert http.post(UNIT + "/deploy", content=body, headers=header).status_code == 400


def test_the_guard_stands_in_front(tmp_path: Path) -> None:
    with run_server(tmp_path / "state", token="s3cret") as server, server.client() as http:
        claim = {"holder": "a", "ttlSeconds": 30}
        assert http.get(UNIT + "/lease").status_code == 401
        assert http.post(UNIT + "/lease", json=claim).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert http.post(UNIT + "/lease", json=claim, headers=wrong).status_code == 403
        right = {"Authorization": "Bearer s3cret"}
        assert http.post(UNIT + "/lease", json=claim, headers=right).status_code == 200
        evil = {**right, "Host": "evil.example"}
        assert http.get(UNIT + "/lease", headers=evil).status_code == 421
