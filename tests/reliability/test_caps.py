"""Caps everywhere: hostile names, archive entry names and numbers are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsync.config import package
from gitsync.config.schema import validate_config
from gitsync.errors import UnsafeInput
from tests.testing.api import run_server


def test_a_zip_entry_whose_raw_name_holds_a_nul_is_refused() -> None:
    data = package.build_zip({"services.xml": b"<services/>", "evilXx.yaml": b"a: 1\n"})
    raw = data.replace(b"evilXx.yaml", b"evil\x00x.yaml")  # local header and directory
    assert raw.count(b"evil\x00x.yaml") == 2
    with pytest.raises(UnsafeInput) as caught:
        package.read_zip(raw, package.PackageLimits())
    assert "NUL" in caught.value.message


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a" * 257, "257 characters long"),
        ("app\x1b[2J", "control or bidirectional-override"),
        ("app\u202egnp", "control or bidirectional-override"),
        ("line\nbreak", "control or bidirectional-override"),
    ],
)
def test_application_and_deployment_names_are_printable_and_bounded(name: str, why: str) -> None:
    config = {
        "applications": [
            {
                "name": name,
                "import_path": "m:a",
                "route_prefix": "/a",
                "deployments": [{"name": name}],
            }
        ]
    }
    messages = [issue.message for issue in validate_config(config) if issue.rule == "name-format"]
    assert len(messages) == 2, messages
    assert all(why in message for message in messages)


def test_overflowing_numbers_in_a_serve_put_are_refused(tmp_path: Path) -> None:
    body = (
        b'{"applications": [{"name": "a", "import_path": "m:a", "route_prefix": "/a",'
        b' "deployments": [{"name": "D", "num_replicas": 1, "health_check_period_s": 1e999}]}]}'
    )
    with run_server(tmp_path / "state") as server, server.client() as http:
        response = http.put(
            "/api/serve/applications/", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert "too large" in response.text
        assert "Infinity" not in http.get("/api/serve/applications/").text


def test_content_puts_count_against_the_package_caps(tmp_path: Path) -> None:
    from gitsync.engine import Engine
    from gitsync.errors import PayloadTooLarge

    limits = package.PackageLimits(max_decompressed=4096, max_entries=4)
    with Engine(tmp_path / "state", limits=limits) as engine:
        engine.create_tenant("t")
        info = engine.create_session_from_files("t", {"services.xml": b"<services/>"})
        engine.put_content("t", info.session_id, "a.txt", b"x" * 2000)
        engine.put_content("t", info.session_id, "a.txt", b"x" * 3000)  # replaces, fits
        with pytest.raises(PayloadTooLarge) as caught:
            engine.put_content("t", info.session_id, "b.txt", b"y" * 2000)
        assert "package limit is 4096" in caught.value.message
        engine.put_content("t", info.session_id, "c.txt", b"z")
        engine.put_content("t", info.session_id, "d.txt", b"z")  # the fourth file
        with pytest.raises(PayloadTooLarge):
            engine.put_content("t", info.session_id, "e.txt", b"z")


def test_open_sessions_per_tenant_and_tenants_are_capped(tmp_path: Path) -> None:
    from gitsync.engine import Engine
    from gitsync.engine.lifecycle import MAX_OPEN_SESSIONS, MAX_TENANTS
    from gitsync.errors import BadRequest, TooManyRequests

    zipped = package.build_zip({"services.xml": b"<services/>"})
    with Engine(tmp_path / "state") as engine:
        for _ in range(MAX_OPEN_SESSIONS):
            engine.create_session("default", zipped, "application/zip")
        with pytest.raises(TooManyRequests) as caught:
            engine.create_session("default", zipped, "application/zip")
        assert caught.value.http_status == 429
        created = len(engine.list_tenants())
        for index in range(MAX_TENANTS - created):
            engine.create_tenant(f"t{index}")
        with pytest.raises(BadRequest) as refused:
            engine.create_tenant("one-too-many")
        assert f"at most {MAX_TENANTS} tenants" in refused.value.message
        assert engine.create_tenant("t0") is False  # an existing one is still fine
