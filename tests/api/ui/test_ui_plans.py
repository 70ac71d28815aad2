"""A generation's plan on the page: the one it was prepared with while its session lives,
the same plan computed again from history's files once the session has expired, and
secrets masked in both as ``gitsync diff`` masks them. A real engine on SQLite."""

from __future__ import annotations

from pathlib import Path

from gitsync.api.ui.planhtml import text_to_html
from gitsync.api.ui.plans import PlanStore
from gitsync.engine import Engine
from gitsync.engine.records import AppId

UNIT = AppId("default")


def serve_yaml(price: int, token: str) -> bytes:
    return (
        "applications:\n"
        "  - name: shop\n"
        "    route_prefix: /shop\n"
        "    import_path: shop:app\n"
        "    runtime_env:\n"
        f"      env_vars: {{API_TOKEN: {token}}}\n"
        "    deployments:\n"
        "      - name: Stand\n"
        f"        user_config: {{price: {price}}}\n"
    ).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_generations_plan_survives_its_sessions_expiry(tmp_path: Path) -> None:
    clock = Clock()
    with Engine(tmp_path / "state", clock=clock, session_lifetime=60) as engine:
        engine.deploy_files({"serve.yaml": serve_yaml(1, "first-secret")})
        clock.now += 1
        newest = engine.deploy_files({"serve.yaml": serve_yaml(2, "second-secret")}).generation
        history = engine.history("default")
        kept = PlanStore().of_generation(engine, history, UNIT, newest)
        assert kept.predecessor == newest - 1
        assert "deployments.Stand.user_config.price 1 → 2 (reconfigure, in place)" in kept.text
        assert "secret" not in kept.text and '"***"' in kept.text

        engine.deploy_files({"serve.yaml": serve_yaml(3, "third-secret")})
        clock.now += 3600
        assert (UNIT.tenant, newest) in engine.expire_sessions()
        assert engine.generation_plan_text("default", "default", newest) is None
        computed = PlanStore().of_generation(engine, engine.history("default"), UNIT, newest)
        assert computed.text == kept.text


def test_plan_html_escapes_and_marks_without_relying_on_colour() -> None:
    text = (
        '~ update "a<b>" (2 changes, restart):\n'
        '    import_path "x" → "<script>" (restart, replicas replaced)\n'
        '+ create application "new"\n'
        '- delete "old"\n'
        "\n"
        "Plan: 1 to create, 1 to update (1 restart), 1 to delete.\n"
    )
    html = str(text_to_html(text))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert (
        '<span class="plan-update">~ update &quot;a&lt;b&gt;&quot; (2 changes, restart)</span>:'
        in html
    )
    assert '<span class="plan-create">+ create application &quot;new&quot;</span>' in html
    assert '<span class="plan-delete">- delete &quot;old&quot;</span>' in html
    assert '<span class="plan-summary">Plan: 1 to create' in html
