"""Plain records the engine returns: the Engine facade speaks only in these.

They carry data, never URLs: the HTTP layer builds absolute URLs from the request's
Host header (vespa-deploy-api.md §1.14) and renders these records as JSON.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

JsonDict = dict[str, Any]
_NO_META: Mapping[str, str] = MappingProxyType({})


class SessionStatus(enum.Enum):
    """Vespa's session states (vespa-deploy-api.md §4.1), with our spelling."""

    NEW = "NEW"
    PREPARED = "PREPARED"
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class AppId:
    """A Vespa application id: one deployment unit (DESIGN.md §3)."""

    tenant: str
    application: str = "default"
    instance: str = "default"

    def full_string(self) -> str:
        """``t.a.i``, as Vespa prints application ids in messages."""
        return f"{self.tenant}.{self.application}.{self.instance}"

    def serialized(self) -> str:
        """``t:a:i``, as Vespa serializes application ids in JSON."""
        return f"{self.tenant}:{self.application}:{self.instance}"


class OtherUnitApp(NamedTuple):
    """A Serve application live in some deployment unit of a tenant (for the
    cross-unit name and route prefix checks of prepare)."""

    unit: AppId
    name: str
    route_prefix: str | None


class DeploySource(NamedTuple):
    """Where a deployment came from: the source revision and commit metadata
    (``author``, ``message``, ``time``...) the caller passes to activation."""

    revision: str = ""
    meta: Mapping[str, str] = _NO_META


class LogEntry(NamedTuple):
    """One ``log`` entry of a Vespa response; ``time`` in milliseconds."""

    time: int
    level: str  # java.util.logging names: INFO, WARNING, SEVERE
    message: str
    application_package: bool = False

    def to_json(self) -> JsonDict:
        out: JsonDict = {"time": self.time, "level": self.level, "message": self.message}
        if self.application_package:
            out["applicationPackage"] = True
        return out


class ChangeActions:
    """Vespa's ``configChangeActions`` plus our own per-class detail.

    ``restart`` holds Vespa-shaped entries (clusterName, clusterType, serviceType,
    messages, services); ``refeed`` and ``reindex`` are always empty for Serve.
    ``create``/``delete`` list Serve application names; ``reconfigure``/``scale`` list
    ``{"application", "deployment", "fields"}`` entries. A plain class, not a
    dataclass: a push hook's fresh process builds it at import.
    """

    __slots__ = ("restart", "create", "delete", "reconfigure", "scale")

    def __init__(
        self,
        restart: list[JsonDict] | None = None,
        create: list[str] | None = None,
        delete: list[str] | None = None,
        reconfigure: list[JsonDict] | None = None,
        scale: list[JsonDict] | None = None,
    ) -> None:
        self.restart: list[JsonDict] = [] if restart is None else restart
        self.create: list[str] = [] if create is None else create
        self.delete: list[str] = [] if delete is None else delete
        self.reconfigure: list[JsonDict] = [] if reconfigure is None else reconfigure
        self.scale: list[JsonDict] = [] if scale is None else scale

    def to_vespa_json(self) -> JsonDict:
        """The exact Vespa shape: ``{"restart": [...], "refeed": [], "reindex": []}``."""
        return {"restart": list(self.restart), "refeed": [], "reindex": []}

    def to_json(self) -> JsonDict:
        """Vespa shape plus ``create``/``delete``/``reconfigure``/``scale``."""
        out = self.to_vespa_json()
        out.update(
            create=list(self.create),
            delete=list(self.delete),
            reconfigure=list(self.reconfigure),
            scale=list(self.scale),
        )
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChangeActions:
        return cls(
            restart=list(data.get("restart", [])),
            create=list(data.get("create", [])),
            delete=list(data.get("delete", [])),
            reconfigure=list(data.get("reconfigure", [])),
            scale=list(data.get("scale", [])),
        )

    def summary(self) -> dict[str, int]:
        """Counts per class, for history records and one-line reports."""
        return {
            "create": len(self.create),
            "delete": len(self.delete),
            "restart": len(self.restart),
            "reconfigure": len(self.reconfigure),
            "scale": len(self.scale),
        }


class SessionInfo(NamedTuple):
    """A session as the engine holds it."""

    tenant: str
    session_id: int
    status: SessionStatus
    app: AppId
    created: float
    changed: float
    previous_active_generation: int


class PrepareResult(NamedTuple):
    """What ``PUT …/session/{id}/prepared`` answers (vespa-deploy-api.md §2.5)."""

    session: SessionInfo
    log: list[LogEntry]
    actions: ChangeActions


class ActivateResult:
    """What an activation answers (§2.2, §2.7); ``activated`` False only for a dry run.
    A plain class, not a dataclass: a push hook's fresh process builds it at import."""

    __slots__ = (
        "session",
        "app",
        "generation",
        "previous_active_generation",
        "checksum",
        "activated",
        "log",
        "actions",
    )

    def __init__(
        self,
        session: SessionInfo,
        app: AppId,
        generation: int,
        previous_active_generation: int,
        checksum: str,
        activated: bool = True,
        log: list[LogEntry] | None = None,
        actions: ChangeActions | None = None,
    ) -> None:
        self.session = session
        self.app = app
        self.generation = generation
        self.previous_active_generation = previous_active_generation
        self.checksum = checksum
        self.activated = activated
        self.log: list[LogEntry] = [] if log is None else log
        self.actions: ChangeActions = ChangeActions() if actions is None else actions


class ApplicationInfo(NamedTuple):
    """An active deployment unit (``GET …/application/{a}``, §2.8)."""

    app: AppId
    generation: int
    checksum: str
    activated_at: float


class FileContent(NamedTuple):
    """A file of a package (``GET …/content/{path}``)."""

    path: str
    data: bytes


class DirListing(NamedTuple):
    """A directory listing: paths relative to the package root, directories end in ``/``,
    dot-files hidden, sorted (§2.4)."""

    path: str
    entries: list[str]


class FileStatus(NamedTuple):
    """``return=status`` for one path: ``new``, ``changed`` or ``deleted``; md5 ``""`` for
    directories (§2.4)."""

    path: str
    status: str
    md5: str
    is_dir: bool = False


class HistoryEntry(NamedTuple):
    """One activation of a deployment unit."""

    app: AppId
    generation: int
    session_id: int
    time: float
    kind: str  # "deploy" | "rollback"
    revision: str
    meta: Mapping[str, str]
    summary: Mapping[str, int]
    rollback_of: int | None = None
    # The health gate's verdict: "" (no gate: the none runtime), "pending", "healthy",
    # "failed" or "superseded" (a newer generation came before the verdict).
    health: str = ""
    health_message: str = ""

    def to_json(self) -> JsonDict:
        return {
            "tenant": self.app.tenant,
            "application": self.app.application,
            "instance": self.app.instance,
            "generation": self.generation,
            "session-id": self.session_id,
            "time": self.time,
            "kind": self.kind,
            "revision": self.revision,
            "meta": dict(self.meta),
            "summary": dict(self.summary),
            "rollbackOf": self.rollback_of,
            "health": self.health,
            "healthMessage": self.health_message,
        }


class DeployedApp(NamedTuple):
    """A Serve application of the active generation, as the store holds it; the input
    a Runtime turns into live state."""

    name: str
    route_prefix: str | None
    config: JsonDict  # the application entry of the deploy config, as the user wrote it
    last_deployed_time_s: float
    generation: int


class DeploymentLive:
    """Live state of one Serve deployment (Ray's DeploymentDetails, reduced). A plain
    class, not a dataclass: a push hook's fresh process builds it at import."""

    __slots__ = (
        "name",
        "status",
        "status_trigger",
        "message",
        "deployment_config",
        "target_num_replicas",
        "replicas",
        "raw",
    )

    def __init__(
        self,
        name: str,
        status: str,  # DeploymentStatus: HEALTHY, UPDATING, ...
        status_trigger: str,
        message: str,
        deployment_config: JsonDict,
        target_num_replicas: int,
        replicas: list[JsonDict] | None = None,
        # Ray's own DeploymentDetails as it answered (the Ray runtime), served as is.
        raw: JsonDict | None = None,
    ) -> None:
        self.name = name
        self.status = status
        self.status_trigger = status_trigger
        self.message = message
        self.deployment_config = deployment_config
        self.target_num_replicas = target_num_replicas
        self.replicas: list[JsonDict] = [] if replicas is None else replicas
        self.raw = raw


class AppLive(NamedTuple):
    """Live state of one Serve application (Ray's ApplicationDetails, reduced)."""

    name: str
    route_prefix: str | None
    status: str  # ApplicationStatus: RUNNING, DEPLOYING, ...
    message: str
    last_deployed_time_s: float
    deployed_app_config: JsonDict
    deployments: list[DeploymentLive]
    # Ray's own ApplicationDetails as it answered (the Ray runtime), served as is.
    raw: JsonDict | None = None

    def explanation(self) -> str:
        """Ray's own words for this status: the application's message, else those of
        its deployments (Ray explains a replica waiting to be scheduled there)."""
        if self.message:
            return self.message
        return "\n".join(f"{d.name}: {d.message}" for d in self.deployments if d.message)


class ServeState:
    """Everything ``GET /api/serve/applications/`` needs for one deployment unit.

    ``config`` is the active deploy config (instance options included) or None when
    nothing is deployed; ``generation`` is 0 then. A plain class, not a dataclass: a
    push hook's fresh process builds it at import.
    """

    __slots__ = (
        "app",
        "generation",
        "config",
        "applications",
        "runtime",
        "drift",
        "runtime_error",
        "instance",
    )

    def __init__(
        self,
        app: AppId,
        generation: int,
        config: JsonDict | None,
        applications: list[AppLive],
        runtime: str,
        # How the runtime's config differs from the active generation (a managed runtime).
        drift: list[str] | None = None,
        runtime_error: str | None = None,  # the runtime's last failure, None when it answers
        # Ray's instance-level details (controller_info, proxies, the start-only options
        # as Serve runs them, target_groups); None without a managed runtime or its answer.
        instance: JsonDict | None = None,
    ) -> None:
        self.app = app
        self.generation = generation
        self.config = config
        self.applications = applications
        self.runtime = runtime
        self.drift: list[str] = [] if drift is None else drift
        self.runtime_error = runtime_error
        self.instance = instance
