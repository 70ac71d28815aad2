"""The plan: a pure diff of a desired deploy config against the live one.

``diff(desired, live)`` lists the applications to create, update and delete, and for
each update the changed fields (leaf level, with before/after) and each deployment's
change class (reference/ray-serve.md §5.1):

- ``scale``: only the controller's targets or bookkeeping change, replicas are kept;
- ``reconfigure``: in place, ``reconfigure()`` runs on the live replicas;
- ``restart``: replicas are replaced; app-level code changes restart every deployment.

Values that look secret are masked in the plan itself, so no rendering can leak them.
Unchanged applications are found by fingerprint alone; only changed ones are detailed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from gitsync.config.issues import format_path
from gitsync.config.model import EMPTY, Application, DeployConfig, app_view, strip_defaults, thaw
from gitsync.redact import MASK as REDACTED_MASK
from gitsync.redact import is_secret_key, redact_text

ChangeClass = Literal["scale", "reconfigure", "restart"]
Action = Literal["create", "update", "delete"]
DeploymentStatus = Literal["added", "removed", "changed", "unchanged"]


class Unset(enum.Enum):
    """A key absent on one side of a change."""

    UNSET = "unset"


UNSET = Unset.UNSET
MASK = REDACTED_MASK
STARTUP_ONLY_NOTE = "applies when Serve restarts"
_RANK: Mapping[ChangeClass, int] = {"scale": 1, "reconfigure": 2, "restart": 3}

# App-level fields, and deployment options by class (reference/ray-serve.md §5.1).
_APP_CODE = frozenset({"import_path", "runtime_env", "args", "autoscaling_policy", "code_digest"})
_APP_RECONFIGURE = frozenset({"route_prefix", "logging_config"})
_SCALE = frozenset(
    {
        "num_replicas",
        "max_queued_requests",
        "rolling_update_percentage",
        "max_surge_percent",
        "graceful_shutdown_timeout_s",
        "health_check_period_s",
        "health_check_timeout_s",
        "max_constructor_retry_count",
    }
)
_RECONFIGURE = frozenset(
    {
        "user_config",
        "max_ongoing_requests",
        "backpressure_config",
        "graceful_shutdown_wait_loop_s",
        "logging_config",
    }
)
_CODE_VERSION = frozenset({"request_router_config", "deployment_actors"})  # rebuild the app
_AUTOSCALING_RECONFIGURE = frozenset({"metrics_interval_s", "look_back_period_s"})
GLOBAL_LOGGING_NOTE = "reconfigures applications without their own logging_config"
_INSTANCE_NOTES = {
    # Ray reads these only when Serve or its controller first starts.
    "http_options": STARTUP_ONLY_NOTE,
    "grpc_options": STARTUP_ONLY_NOTE,
    "controller_options": STARTUP_ONLY_NOTE,
    "proxy_location": STARTUP_ONLY_NOTE,
    # Serve copies the global logging_config into every app that has none of its own.
    "logging_config": GLOBAL_LOGGING_NOTE,
}

_MAPS = (dict, MappingProxyType)  # what model records hold; other mappings compare as leaves
_SCALARS = frozenset({str, int, float, bool, type(None)})
_Leaf = tuple[tuple[str, ...], Any, Any]


# The plan's records are NamedTuples, not dataclasses: each push hook is a fresh process,
# and building a dataclass costs it ten times as much.
class FieldChange(NamedTuple):
    """One changed leaf. ``parts`` is relative to the application (or the instance)."""

    parts: tuple[str, ...]
    before: Any  # plain JSON value, masked, or UNSET
    after: Any
    change_class: ChangeClass | None = None  # None for instance options
    all_deployments: bool = False  # a new code version: every deployment restarts
    note: str | None = None
    sensitive: bool = False

    @property
    def path(self) -> str:
        return format_path(self.parts)

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        if self.before is UNSET:
            return "added"
        return "removed" if self.after is UNSET else "changed"


class DeploymentChange(NamedTuple):
    name: str
    status: DeploymentStatus  # of the override entry in the config
    change_class: ChangeClass | None  # None for a created or deleted application


class AppChange(NamedTuple):
    name: str
    action: Action
    import_path: str  # desired one (live one for a delete), masked
    route_prefix: str | None
    changes: tuple[FieldChange, ...] = ()
    deployments: tuple[DeploymentChange, ...] = ()
    restarts_all: bool = False

    @property
    def change_class(self) -> ChangeClass | None:
        return worst(c.change_class for c in self.changes)


class PlanCounts(NamedTuple):
    """How many applications a plan creates, updates, deletes and leaves alone."""

    create: int
    update: int
    delete: int
    unchanged: int
    restart: int  # updates whose worst class is restart
    instance: int  # changed instance options
    live_total: int  # applications live now

    @property
    def would_remove_all(self) -> bool:
        return self.live_total > 0 and self.delete == self.live_total

    @property
    def prune_fraction(self) -> float:
        """Share of the live applications the plan deletes (0.0 when none are live)."""
        return self.delete / self.live_total if self.live_total else 0.0


class Plan(NamedTuple):
    """What a sync would change, from the live config to the desired one: applications
    to create, update (with each field change and its effect) and delete, those left
    unchanged, and changed instance options. :func:`diff` builds it; it changes nothing."""

    create: tuple[AppChange, ...] = ()
    update: tuple[AppChange, ...] = ()
    delete: tuple[AppChange, ...] = ()
    unchanged: tuple[str, ...] = ()
    instance: tuple[FieldChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.create or self.update or self.delete or self.instance)

    @property
    def counts(self) -> PlanCounts:
        return PlanCounts(
            create=len(self.create),
            update=len(self.update),
            delete=len(self.delete),
            unchanged=len(self.unchanged),
            restart=sum(1 for a in self.update if a.change_class == "restart"),
            instance=len(self.instance),
            live_total=len(self.update) + len(self.delete) + len(self.unchanged),
        )


def prune_candidates(plan: Plan) -> tuple[str, ...]:
    """Names of the live applications the plan would remove."""
    return tuple(a.name for a in plan.delete)


def worst(classes: Iterable[ChangeClass | None]) -> ChangeClass | None:
    """The heaviest class present (restart > reconfigure > scale), None if none."""
    found: ChangeClass | None = None
    for c in classes:
        if c is not None and (found is None or _RANK[c] > _RANK[found]):
            found = c
    return found


def diff(desired: DeployConfig, live: DeployConfig) -> Plan:
    """Compare two canonical configs (``model.from_config``); pure and fast."""
    want = {a.name: a for a in desired.applications}
    have = {a.name: a for a in live.applications}
    create: list[AppChange] = []
    update: list[AppChange] = []
    unchanged: list[str] = []
    for name in sorted(want):
        new, old = want[name], have.get(name)
        if old is None:
            create.append(_summary(new, "create"))
        elif old.fingerprint == new.fingerprint:
            unchanged.append(name)
        else:
            change = _update(old, new)
            if change is None:
                unchanged.append(name)
            else:
                update.append(change)
    delete = [_summary(have[name], "delete") for name in sorted(have.keys() - want.keys())]
    return Plan(
        create=tuple(create),
        update=tuple(update),
        delete=tuple(delete),
        unchanged=tuple(unchanged),
        instance=tuple(_instance_changes(desired, live)),
    )


def _summary(app: Application, action: Action) -> AppChange:
    return AppChange(
        name=app.name,
        action=action,
        import_path=_scrub_url(app.import_path),
        route_prefix=app.route_prefix,
        deployments=tuple(
            DeploymentChange(d.name, "added" if action == "create" else "removed", None)
            for d in app.deployments
        ),
    )


def _walk(parts: tuple[str, ...], before: Any, after: Any, out: list[_Leaf]) -> None:
    """Collect the leaves where ``before`` and ``after`` differ, walking mappings key by key."""
    if before is after:
        return
    if isinstance(before, _MAPS) and isinstance(after, _MAPS):
        for key in sorted(before.keys() | after.keys()):
            _walk((*parts, key), before.get(key, UNSET), after.get(key, UNSET), out)
    elif not _same(before, after):
        out.append((parts, before, after))


def _same(a: Any, b: Any) -> bool:
    """Equality that tells ``1`` from ``1.0`` and ``True``, as the fingerprints do."""
    kind = type(a)
    if kind is type(b) and kind in _SCALARS:
        return bool(a == b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return kind is type(b) and bool(a == b)


def _classify(parts: tuple[str, ...], before: Any, after: Any) -> tuple[ChangeClass, bool]:
    """(class, restarts every deployment) of one changed leaf of an application."""
    head = parts[0]
    if head in _APP_CODE:
        return "restart", True
    if head in _APP_RECONFIGURE:
        return "reconfigure", False
    if head != "deployments":  # external_scaler_enabled: controller bookkeeping
        return "scale", False
    option = parts[2]
    if option in _SCALE:
        return "scale", False
    if option in _RECONFIGURE:
        return "reconfigure", False
    if option in _CODE_VERSION:
        return "restart", True
    if option == "autoscaling_config":
        keys = {parts[3]} if len(parts) > 3 else _keys(before) | _keys(after)
        if "policy" in keys:
            return "restart", True
        return ("reconfigure" if keys & _AUTOSCALING_RECONFIGURE else "scale"), False
    return "restart", False  # ray_actor_options, placement groups, gang, code_digest, unknown


def _keys(value: Any) -> set[str]:
    return set(value) if isinstance(value, Mapping) else set()


def _update(old: Application, new: Application) -> AppChange | None:
    before, after = app_view(old), app_view(new)
    # A deployment without an override entry has no options set: compare it as empty.
    for name in before["deployments"].keys() ^ after["deployments"].keys():
        before["deployments"].setdefault(name, EMPTY)
        after["deployments"].setdefault(name, EMPTY)
    leaves: list[_Leaf] = []
    _walk((), before, after, leaves)
    changes = []
    for parts, b, a in leaves:
        change_class, all_deployments = _classify(parts, b, a)
        changes.append(_field_change(parts, b, a, change_class, all_deployments))
    changes.sort(key=lambda c: (c.parts[0] == "deployments", c.parts))  # app fields first
    if not changes:
        return None
    restarts_all = any(c.all_deployments for c in changes)
    old_names = {d.name for d in old.deployments}
    new_names = {d.name for d in new.deployments}
    deployments = []
    for name in sorted(old_names | new_names):
        own = worst(
            c.change_class for c in changes if c.parts[0] == "deployments" and c.parts[1] == name
        )
        if own is None and not restarts_all:
            continue
        status: DeploymentStatus = "changed" if own else "unchanged"
        if name not in old_names or name not in new_names:
            status = "added" if name in new_names else "removed"
        deployments.append(DeploymentChange(name, status, "restart" if restarts_all else own))
    return AppChange(
        name=new.name,
        action="update",
        import_path=_scrub_url(new.import_path),
        route_prefix=new.route_prefix,
        changes=tuple(changes),
        deployments=tuple(deployments),
        restarts_all=restarts_all,
    )


def _instance_changes(desired: DeployConfig, live: DeployConfig) -> Iterator[FieldChange]:
    leaves: list[_Leaf] = []
    _walk((), live.instance_view(), desired.instance_view(), leaves)
    for parts, b, a in leaves:
        yield _field_change(parts, b, a, None, False, _INSTANCE_NOTES.get(parts[0]))


def _field_change(
    parts: tuple[str, ...],
    before: Any,
    after: Any,
    change_class: ChangeClass | None,
    all_deployments: bool,
    note: str | None = None,
) -> FieldChange:
    # A nested option that appears or disappears whole is shown without its defaults.
    if len(parts) == 1 or (len(parts) == 3 and parts[0] == "deployments"):
        before = strip_defaults(parts[-1], before) if isinstance(before, Mapping) else before
        after = strip_defaults(parts[-1], after) if isinstance(after, Mapping) else after
    masked_before, hid_before = _scrub(parts, before)
    masked_after, hid_after = _scrub(parts, after)
    return FieldChange(
        parts=parts,
        before=masked_before,
        after=masked_after,
        change_class=change_class,
        all_deployments=all_deployments,
        note=note,
        sensitive=hid_before or hid_after,
    )


def _is_secret(parts: tuple[str, ...]) -> bool:
    """Every ``env_vars`` value; keys that look secret inside ``user_config``/``args``."""
    for i, part in enumerate(parts):
        if part == "env_vars" and i > 0 and parts[i - 1] == "runtime_env" and len(parts) > i + 1:
            return True
        if part in ("user_config", "args") and any(is_secret_key(p) for p in parts[i + 1 :]):
            return True
    return False


def _scrub(parts: tuple[str, ...], value: Any) -> tuple[Any, bool]:
    """The plain, masked form of ``value`` found at ``parts``, and whether anything was hidden."""
    if value is UNSET:
        return value, False
    if _is_secret(parts):
        return MASK, True
    if isinstance(value, Mapping):
        items = {k: _scrub((*parts, k), v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(h for _, h in items.values())
    if isinstance(value, list | tuple):
        items_ = [_scrub(parts, v) for v in value]
        return [v for v, _ in items_], any(h for _, h in items_)
    if isinstance(value, str):
        scrubbed = _scrub_url(value)
        return scrubbed, scrubbed != value
    return thaw(value), False


def _scrub_url(text: str) -> str:
    """``https://user:pass@host/x`` → ``https://***@host/x``, query tokens masked."""
    return redact_text(text)
