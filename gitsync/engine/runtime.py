"""What the engine drives after activation: the Runtime protocol and the default ``none``.

A runtime receives each activated deploy config (``apply``) and reports live state
(``live``). The ``none`` runtime keeps no state of its own: it reports every activated
application RUNNING and every deployment HEALTHY, with no replicas, and says so.
A *managed* runtime (``ManagedRuntime``: the Ray runtime of ``ray.py``) also receives
the generation and its code files (``deploy``), reports drift, and tells the engine
through a listener whether a generation became healthy (the health gate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from gitsync.engine.records import AppId, AppLive, DeployedApp, DeploymentLive, JsonDict

_NO_CODE: Mapping[str, bytes] = MappingProxyType({})

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


class UnitDeploy(NamedTuple):
    """One activation as a managed runtime receives it.

    ``config`` None removes the unit. ``code`` holds the package files below the local
    ``working_dir``/``py_modules`` directories. ``gate`` lists the Serve applications
    whose health decides the generation (the changed ones); None means "do not gate"
    (a re-apply at start-up or a self-heal).
    """

    app: AppId
    generation: int
    config: JsonDict | None
    code: Mapping[str, bytes] = _NO_CODE
    gate: tuple[str, ...] | None = None


class GateOutcome(NamedTuple):
    """The health gate's verdict on one generation."""

    app: AppId
    generation: int
    healthy: bool
    message: str


GateListener = Callable[[GateOutcome], None]


@runtime_checkable
class ManagedRuntime(Runtime, Protocol):
    """A runtime that runs the code too, gates generations on health and sees drift."""

    def deploy(self, unit: UnitDeploy) -> None:
        """Like ``apply``, with the generation and its code; never blocks on the runtime."""
        ...

    def set_listener(self, listener: GateListener) -> None:
        """Called (from the runtime's own thread) with each gate outcome."""
        ...

    def adopt(self, unit: UnitDeploy) -> None:
        """Know ``unit`` as already sent (by this engine or another): no send for it;
        its gate, if any, watches from now on. ``config`` None forgets the unit."""
        ...

    def set_driving(self, driving: bool) -> None:
        """Drive the runtime (the default), or only read it: another engine drives."""
        ...

    def drift(self, app: AppId) -> list[str]:
        """How the runtime's config differs from what the engine last applied (empty
        when in sync or not yet known)."""
        ...

    def error(self) -> str | None:
        """The last failure talking to the runtime, None once it answers again."""
        ...

    def instance(self) -> JsonDict | None:
        """The runtime's instance-level details (Ray's controller_info, proxies, the
        start-only options as Serve runs them, ...); None before its first answer."""
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
