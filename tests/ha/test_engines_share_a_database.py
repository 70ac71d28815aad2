"""Three ``gitsync engine`` processes on one PostgreSQL database answer as one: a session
moves between them, ids only grow, racing activations end with one winner and one 409,
and every GET on any engine shows a generation as soon as its activation returned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitsync.config import package
from tests.testing.configs import serve_yaml
from tests.testing.engine import EngineProcess
from tests.testing.postgres import PostgresServer

V2 = "/application/v2/tenant/default"
ZIP = {"Content-Type": "application/zip"}
pytestmark = pytest.mark.slow  # three engine processes per test

HISTORY = "/api/gitsync/v1/tenant/default/application/default/history"
LIVE = "/api/gitsync/v1/tenant/default/application/default/live"


@pytest.fixture
def engines(tmp_path: Path, postgres: PostgresServer) -> Iterator[list[EngineProcess]]:
    url = postgres.create_database()
    started: list[EngineProcess] = []
    try:
        for index in range(3):
            node = EngineProcess(
                tmp_path / f"engine{index}",
                tmp_path / f"engine{index}.log",
                extra=["--store", url],
            )
            started.append(node.start())
        yield started
    finally:
        for node in started:
            node.stop()


def zip_of(price: int, *apps: tuple[str, str]) -> bytes:
    return package.build_zip({"serve.yaml": serve_yaml(*(apps or (("a", "/a"),)), price=price)})


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def new_session(url: str, price: int) -> int:
    body = ok(httpx.post(url + V2 + "/session", content=zip_of(price), headers=ZIP, timeout=30))
    return int(body["session-id"])


def test_a_session_travels_across_engines_and_ids_only_grow(
    engines: list[EngineProcess],
) -> None:
    one, two, three = (node.url for node in engines)
    sid = new_session(one, price=1)
    session = f"{V2}/session/{sid}"
    # Upload on the second, prepare on the third, activate on the first.
    changed = serve_yaml(("a", "/a"), ("b", "/b"), price=7)
    response = httpx.put(two + session + "/content/serve.yaml", content=changed, timeout=30)
    assert response.status_code == 200, response.text
    ok(httpx.put(three + session + "/prepared", timeout=30))
    ok(httpx.put(one + session + "/active", timeout=30))
    for url in (one, two, three):
        app = ok(httpx.get(url + V2 + "/application/default", timeout=30))
        assert app["generation"] == sid
        content = httpx.get(
            url + V2 + "/application/default/environment/prod/region/default/instance/default"
            "/content/serve.yaml",
            timeout=30,
        )
        assert content.content == changed
    # Ids handed out by different engines only grow.
    ids = [new_session(url, price=n) for n, url in enumerate([two, three, one, three, two])]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > sid


def activate(url: str, sid: int, barrier: threading.Barrier, out: list[httpx.Response]) -> None:
    barrier.wait()
    out.append(httpx.put(f"{url}{V2}/session/{sid}/active", timeout=60))


def test_racing_activations_one_wins_the_other_gets_409(engines: list[EngineProcess]) -> None:
    urls = [node.url for node in engines]
    first = new_session(urls[0], price=1)
    ok(httpx.put(f"{urls[0]}{V2}/session/{first}/prepared", timeout=30))
    ok(httpx.put(f"{urls[0]}{V2}/session/{first}/active", timeout=30))
    for round_no in range(6):
        # Two sessions on the same base, prepared, then activated at once on two engines.
        left, right = urls[round_no % 3], urls[(round_no + 1) % 3]
        sessions = [new_session(left, price=10 + round_no), new_session(right, price=20)]
        for url, sid in zip((left, right), sessions, strict=True):
            ok(httpx.put(f"{url}{V2}/session/{sid}/prepared", timeout=30))
        answers: list[httpx.Response] = []
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=activate, args=(url, sid, barrier, answers))
            for url, sid in zip((left, right), sessions, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        codes = sorted(response.status_code for response in answers)
        assert codes == [200, 409], [r.text for r in answers]
        loser = next(r for r in answers if r.status_code == 409)
        assert loser.json()["error-code"] == "ACTIVATION_CONFLICT"
        winner = next(r for r in answers if r.status_code == 200)
        active = ok(httpx.get(urls[2] + V2 + "/application/default", timeout=30))
        assert active["generation"] == winner.json()["application"]["generation"]


def test_every_get_on_every_engine_reads_its_writes(engines: list[EngineProcess]) -> None:
    urls = [node.url for node in engines]
    with httpx.Client(timeout=30) as client:
        for step in range(12):
            writer = urls[step % 3]
            config = {
                "applications": [
                    {
                        "name": "a",
                        "route_prefix": "/a",
                        "import_path": "mod:app",
                        "deployments": [{"name": "Model", "user_config": {"price": step}}],
                    }
                ]
            }
            response = client.put(writer + "/api/serve/applications/", json=config)
            assert response.status_code == 200, response.text
            generation = ok(client.get(writer + V2 + "/application/default"))["generation"]
            for reader in urls:
                # The Serve GET (cached per state version), the Deploy API, history.
                serve = ok(client.get(reader + "/api/serve/applications/"))
                app = serve["applications"]["a"]
                assert app["deployed_app_config"]["deployments"][0]["user_config"] == {
                    "price": step
                }
                assert ok(client.get(reader + V2 + "/application/default"))["generation"] == (
                    generation
                )
                history = ok(client.get(reader + HISTORY))
                assert history[0]["generation"] == generation
                # The live view the agent reads (also cached per state version).
                live = ok(client.get(reader + LIVE))
                assert live["generation"] == generation
                assert live["history"][0]["generation"] == generation
                deployments = live["applications"][0]["deployed_app_config"]["deployments"]
                assert deployments[0]["user_config"] == {"price": step}
