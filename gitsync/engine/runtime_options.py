"""``--runtime none|ray``, ``--ray-address``, ``--health-timeout``, ``--no-auto-rollback``
and ``--store``: the engine options shared by ``gitsync engine`` and ``gitsync agent``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitsync.config.schema import UnknownKeys
from gitsync.engine.engine import Engine
from gitsync.engine.runtime import NoneRuntime, Runtime
from gitsync.engine.store import locate
from gitsync.errors import BadRequest
from gitsync.redact import redact_text

DEFAULT_RAY_ADDRESS = "http://127.0.0.1:8265"
DEFAULT_HEALTH_TIMEOUT_S = 120.0
RUNTIMES = ("none", "ray")


@dataclass(frozen=True)
class RuntimeOptions:
    runtime: str = "none"
    ray_address: str = DEFAULT_RAY_ADDRESS
    health_timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S
    auto_rollback: bool = True
    store: str | None = None  # postgresql://…; None: SQLite in the state directory

    def describe(self) -> str:
        """One line for start-up messages."""
        if self.store:
            return f"{self._describe_runtime()}; store {locate(Path('.'), self.store).describe()}"
        return self._describe_runtime()

    def _describe_runtime(self) -> str:
        if self.runtime == "none":
            return "runtime none"
        rollback = "automatic rollback" if self.auto_rollback else "no automatic rollback"
        return (
            f"runtime ray at {redact_text(self.ray_address)} "
            f"(health gate {self.health_timeout_s:g} s, {rollback})"
        )


def make_runtime(options: RuntimeOptions) -> Runtime:
    if options.runtime == "none":
        return NoneRuntime()
    if options.runtime != "ray":
        raise BadRequest(f"Unknown runtime '{options.runtime}': use one of {', '.join(RUNTIMES)}")
    if not options.ray_address.startswith(("http://", "https://")):
        raise BadRequest(
            "--ray-address must start with http:// or https://, "
            f"got '{redact_text(options.ray_address)}'"
        )
    from gitsync.engine.ray import RayRuntime

    return RayRuntime(options.ray_address, health_timeout=options.health_timeout_s)


def make_engine(
    state_dir: str | Path, options: RuntimeOptions, *, unknown_keys: UnknownKeys = "warn"
) -> Engine:
    """An (unopened) engine over ``state_dir`` driving the chosen runtime; unknown keys
    Ray drops are warnings (Ray's contract) unless ``unknown_keys="error"``."""
    return Engine(
        state_dir,
        runtime=make_runtime(options),
        auto_rollback=options.auto_rollback,
        unknown_keys=unknown_keys,
        store=options.store,
    )
