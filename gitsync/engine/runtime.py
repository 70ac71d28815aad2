"""What the engine drives after activation: the Runtime protocol and the default ``none``.

A runtime receives each activated deploy config (``apply``) and reports live state
(``live``). The ``none`` runtime keeps no state of its own: it reports every activated
application RUNNING and every deployment HEALTHY, with no replicas, and says so.
The Ray runtime (``ray.py``) is a later issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from gitsync.engine.records import AppId, AppLive, DeployedApp, DeploymentLive

NO_RUNTIME_MESSAGE = "No runtime is attached: the engine holds the configuration only."


class Runtime(Protocol):
    """The engine's view of whatever runs the applications."""

    name: str

    def apply(self, app: AppId, config: Mapping[str, Any] | None) -> None:
        """Make ``config`` (the whole deploy config of the unit) live; None removes it.

        Called after the activation has been committed, in generation order. It must
        not raise for a runtime failure (the activation stands): report it through
        ``live`` and retry in the background instead."""
        ...

    def live(self, app: AppId, deployed: Sequence[DeployedApp]) -> list[AppLive]:
        """Live state of the unit's Serve applications, given what the engine activated."""
        ...

    def close(self) -> None:
        """Release connections; the engine calls it from ``Engine.close``."""
        ...


def _deployment_config(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "name"}


def _target_replicas(entry: Mapping[str, Any]) -> int:
    replicas = entry.get("num_replicas", 1)
    if isinstance(replicas, int) and not isinstance(replicas, bool):
        return replicas
    autoscaling = entry.get("autoscaling_config") or {}
    initial = autoscaling.get("initial_replicas", autoscaling.get("min_replicas", 1))
    return initial if isinstance(initial, int) else 1


class NoneRuntime:
    """State only: what was activated is reported as running."""

    name = "none"

    def apply(self, app: AppId, config: Mapping[str, Any] | None) -> None:
        return None

    def live(self, app: AppId, deployed: Sequence[DeployedApp]) -> list[AppLive]:
        out: list[AppLive] = []
        for item in deployed:
            deployments = [
                DeploymentLive(
                    name=str(entry.get("name", "")),
                    status="HEALTHY",
                    status_trigger="CONFIG_UPDATE_COMPLETED",
                    message=NO_RUNTIME_MESSAGE,
                    deployment_config=_deployment_config(entry),
                    target_num_replicas=_target_replicas(entry),
                )
                for entry in item.config.get("deployments", []) or []
                if isinstance(entry, Mapping)
            ]
            out.append(
                AppLive(
                    name=item.name,
                    route_prefix=item.route_prefix,
                    status="RUNNING",
                    message=NO_RUNTIME_MESSAGE,
                    last_deployed_time_s=item.last_deployed_time_s,
                    deployed_app_config=dict(item.config),
                    deployments=deployments,
                )
            )
        return out

    def close(self) -> None:
        return None
