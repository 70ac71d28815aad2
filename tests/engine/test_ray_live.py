"""Ray's own words reach the health gate's verdict: a pending replica's explanation in a
timeout message, a failed deployment's message in a failure verdict."""

from __future__ import annotations

from typing import Any

from gitsync.engine.ray_live import gate_verdict, waiting_on

PENDING = (
    "Deployment 'Hello' in application 'big' has 1 replicas that have taken more than 2s "
    "to be scheduled. Resources required for each replica: {'CPU': 64.0}, total resources "
    "available: {'CPU': 2.0}. Use `ray status` for more details."
)


def ray_state(status: str, app_message: str, dep_status: str, dep_message: str) -> Any:
    return {
        "applications": {
            "big": {
                "name": "big",
                "status": status,
                "message": app_message,
                "deployed_app_config": {"name": "big", "import_path": "hello:app"},
                "deployments": {
                    "Hello": {"name": "Hello", "status": dep_status, "message": dep_message}
                },
            }
        }
    }


def test_a_timeout_names_rays_reason() -> None:
    state = ray_state("DEPLOYING", "", "UPDATING", PENDING)
    assert waiting_on(["big"], state) == f"'big' is DEPLOYING: Hello: {PENDING}"


def test_a_failure_verdict_carries_the_deployments_message() -> None:
    sent = {"applications": [{"name": "big", "import_path": "hello:app"}]}
    state = ray_state("UNHEALTHY", "", "UNHEALTHY", "health check failed: boom")
    assert gate_verdict(["big"], sent, state) == (
        False,
        "application 'big' is UNHEALTHY: Hello: health check failed: boom",
    )
    state = ray_state("DEPLOY_FAILED", "Traceback: ImportError", "UNHEALTHY", "")
    assert gate_verdict(["big"], sent, state) == (
        False,
        "application 'big' is DEPLOY_FAILED: Traceback: ImportError",
    )
