"""What the commands, the hooks and the agent need from an engine, embedded or remote.

``EmbeddedTarget`` wraps the in-process :class:`gitsync.engine.Engine`;
``gitsync.sync.client.RemoteEngine`` speaks the same interface over HTTP;
``gitsync.sync.spec.TargetSpec`` opens one from ``--engine URL`` or ``--state-dir DIR``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from gitsync.engine.records import ActivateResult, AppLive, DeploySource, HistoryEntry

if TYPE_CHECKING:
    from gitsync.engine import Engine
    from gitsync.engine.unit_leases import UnitLease


class Applied(NamedTuple):
    """The outcome of an activation, as both targets can report it."""

    generation: int
    previous_generation: int
    activated: bool = True

    @classmethod
    def of(cls, result: ActivateResult) -> Applied:
        return cls(result.generation, result.previous_active_generation, result.activated)


class LiveView:
    """The live state of one deployment unit. (A plain class, not a dataclass: a push
    hook's fresh process builds it at import.)"""

    __slots__ = (
        "generation",
        "config",
        "code_digests",
        "applications",
        "runtime",
        "history",
        "runtime_drift",
        "runtime_error",
        "warnings",
    )

    def __init__(
        self,
        generation: int,
        config: dict[str, Any] | None,
        code_digests: dict[str, str],
        applications: list[AppLive],
        runtime: str,
        history: list[HistoryEntry] | None = None,  # newest first
        # How the runtime's own config differs from the active generation (someone
        # deployed around the engine), and the runtime's last failure; both empty
        # without a runtime.
        runtime_drift: list[str] | None = None,
        runtime_error: str | None = None,
        # What prepare warned about in the active generation (unknown keys Ray drops).
        warnings: list[str] | None = None,
    ) -> None:
        self.generation = generation
        self.config = config
        self.code_digests = code_digests
        self.applications = applications
        self.runtime = runtime
        self.history: list[HistoryEntry] = [] if history is None else history
        self.runtime_drift: list[str] = [] if runtime_drift is None else runtime_drift
        self.runtime_error = runtime_error
        self.warnings: list[str] = [] if warnings is None else warnings

    @property
    def revision(self) -> str | None:
        """The source revision of the active generation, if it came from a source."""
        return self.history[0].revision if self.history else None


class LeaseToken(NamedTuple):
    """The agent lease a deploy is fenced with: refused unless it still holds the unit."""

    holder: str
    epoch: int


class Target(Protocol):
    """An engine to read the live state of a deployment unit from and deploy to."""

    def live(self, tenant: str, application: str) -> LiveView: ...

    def deploy(
        self,
        files: Mapping[str, bytes],
        *,
        tenant: str,
        application: str,
        source: DeploySource,
        force: bool = False,
        lease: LeaseToken | None = None,
    ) -> Applied: ...

    def history(self, tenant: str, application: str) -> list[HistoryEntry]: ...

    def rollback(self, tenant: str, application: str, generation: int | None) -> Applied: ...

    def reapply(self, tenant: str, application: str, lease: LeaseToken | None = None) -> int: ...

    # One agent per unit: the lease on (tenant, application) (gitsync.engine.unit_leases).
    def lease(self, tenant: str, application: str) -> UnitLease | None: ...

    def claim_lease(
        self,
        tenant: str,
        application: str,
        *,
        holder: str,
        ttl_s: float,
        epoch: int | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> UnitLease: ...

    def release_lease(self, tenant: str, application: str, *, holder: str, epoch: int) -> None: ...

    def close(self) -> None: ...


class EmbeddedTarget:
    """An in-process engine over a state directory, opened for the target's lifetime."""

    def __init__(self, state_dir: str | Path, *, engine: Engine | None = None) -> None:
        from gitsync.engine import Engine

        # ``engine``: one built elsewhere (e.g. with the Ray runtime); opened if need be.
        self.engine = engine if engine is not None else Engine(state_dir)
        if not self.engine.is_open:
            self.engine.open()

    def live(self, tenant: str, application: str) -> LiveView:
        state = self.engine.live(tenant, application)
        history = self.engine.history(tenant, application)
        digests = self.engine.active_code_digests(tenant, application)
        return LiveView(
            state.generation,
            state.config,
            digests,
            state.applications,
            state.runtime,
            history,
            list(state.drift),
            state.runtime_error,
            self.engine.active_warnings(tenant, application),
        )

    def deploy(
        self,
        files: Mapping[str, bytes],
        *,
        tenant: str,
        application: str,
        source: DeploySource,
        force: bool = False,
        lease: LeaseToken | None = None,
    ) -> Applied:
        self._fence(tenant, application, lease)
        result = self.engine.deploy_files(
            files, tenant=tenant, application=application, source=source, force=force
        )
        return Applied.of(result)

    def history(self, tenant: str, application: str) -> list[HistoryEntry]:
        return self.engine.history(tenant, application)

    def rollback(self, tenant: str, application: str, generation: int | None) -> Applied:
        return Applied.of(self.engine.rollback(tenant, application, generation))

    def reapply(self, tenant: str, application: str, lease: LeaseToken | None = None) -> int:
        """Send the active generation to the runtime again (self-heal of runtime drift)."""
        self._fence(tenant, application, lease)
        return self.engine.reapply(tenant, application)

    def lease(self, tenant: str, application: str) -> UnitLease | None:
        return self.engine.unit_leases.current(tenant, application)

    def claim_lease(
        self,
        tenant: str,
        application: str,
        *,
        holder: str,
        ttl_s: float,
        epoch: int | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> UnitLease:
        return self.engine.unit_leases.claim(
            tenant, application, holder=holder, ttl_s=ttl_s, epoch=epoch, info=info
        )

    def release_lease(self, tenant: str, application: str, *, holder: str, epoch: int) -> None:
        self.engine.unit_leases.release(tenant, application, holder=holder, epoch=epoch)

    def _fence(self, tenant: str, application: str, lease: LeaseToken | None) -> None:
        if lease is not None:
            self.engine.unit_leases.check(
                tenant, application, holder=lease.holder, epoch=lease.epoch
            )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> EmbeddedTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
