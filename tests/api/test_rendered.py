"""Bodies kept per state version: a read of unchanged state is served from the kept
body, any commit makes the next read render again, and the kept bodies stay bounded.
Over HTTP, the live view and the Serve GET show each new generation at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from gitsync.api import native
from gitsync.api.rendered import Renderings
from gitsync.engine import Engine
from gitsync.sync import wire
from tests.testing.api import LiveServer

BOTH_STORES = True  # the store matters here: tests/api/conftest.py runs each on both

LIVE = "/api/gitsync/v1/tenant/default/application/default/live"
APPS = "/api/serve/applications/"


def _config(price: int) -> dict[str, Any]:
    return {
        "applications": [
            {
                "name": "fruit",
                "route_prefix": "/fruit",
                "import_path": "fruit:app",
                "deployments": [{"name": "Mango", "user_config": {"price": price}}],
            }
        ]
    }


def test_a_body_is_kept_until_the_state_changes(tmp_path: Path) -> None:
    with Engine(tmp_path) as engine:
        renderings = Renderings(engine)
        calls: list[int] = []

        def make() -> bytes:
            calls.append(1)
            return f"body {len(calls)}".encode()

        assert renderings.kept("k") is None
        assert renderings.get("k", make) == b"body 1"
        assert renderings.get("k", make) == b"body 1"
        assert renderings.kept("k") == b"body 1"
        engine.create_tenant("other")  # any commit
        assert renderings.kept("k") is None
        assert renderings.get("k", make) == b"body 2"
        assert len(calls) == 2


def test_kept_bodies_are_bounded_by_count_and_bytes(tmp_path: Path) -> None:
    with Engine(tmp_path) as engine:
        renderings = Renderings(engine, max_entries=3, max_bytes=100)
        for key in "abcd":
            renderings.render(key, lambda: b"x" * 10)
        assert renderings.kept("a") is None  # the least recently used went
        assert all(renderings.kept(key) == b"x" * 10 for key in "bcd")
        renderings.render("big", lambda: b"y" * 95)
        assert renderings.kept("big") == b"y" * 95
        assert all(renderings.kept(key) is None for key in "bcd")  # past 100 bytes
        renderings.render("huge", lambda: b"z" * 101)
        assert renderings.kept("huge") is None  # never kept: larger than all of it


def test_a_rendering_of_an_older_state_does_not_replace_a_newer_one(tmp_path: Path) -> None:
    with Engine(tmp_path) as engine:
        renderings = Renderings(engine)

        def slow() -> bytes:
            # Meanwhile a commit lands and another reader renders the newer state.
            engine.create_tenant("other")
            renderings.render("k", lambda: b"new")
            return b"old"

        assert renderings.render("k", slow) == b"old"
        assert renderings.kept("k") == b"new"


def test_the_live_view_shows_each_generation_at_once(live: LiveServer, http: httpx.Client) -> None:
    for price in range(3):
        assert http.put(APPS, json=_config(price)).status_code == 200
        generation = live.engine.get_application("default", "default").generation
        for _ in range(2):  # rendered, then kept
            view = http.get(LIVE).json()
            assert view["generation"] == generation
            app = view["applications"][0]["deployed_app_config"]
            assert app["deployments"][0]["user_config"] == {"price": price}
            serve = http.get(APPS).json()["applications"]["fruit"]
            assert serve["deployed_app_config"]["deployments"][0]["user_config"] == {"price": price}


def test_the_kept_live_view_is_the_one_rendered_now(live: LiveServer, http: httpx.Client) -> None:
    assert http.put(APPS, json=_config(7)).status_code == 200
    first, second = http.get(LIVE), http.get(LIVE)
    assert first.headers["content-type"] == "application/json"
    assert first.content == second.content
    view = native.live_view(live.engine, "default", "default")
    assert first.json() == json.loads(json.dumps(wire.live_to_json(view)))
