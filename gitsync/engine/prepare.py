"""Prepare: validate a session's package and compute its change actions (§4.6).

Pure apart from the clock value passed in: files in, a PreparedPackage out (or
InvalidConfig). The engine stores the result with the session and, on activation,
copies the config into the live state.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

from gitsync.config import loader, model, package
from gitsync.config.issues import Issue
from gitsync.config.schema import UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.engine.records import ChangeActions, JsonDict, LogEntry, OtherUnitApp
from gitsync.errors import InvalidConfig
from gitsync.plan import diff as plan
from gitsync.plan.render import render_text


class PreparedPackage:
    """What prepare records with the session.

    A plain class, not a dataclass: a push hook's fresh process builds this class at
    import, where a dataclass costs it milliseconds; nothing compares two of them."""

    __slots__ = (
        "config",
        "code_digests",
        "app_digests",
        "actions",
        "log",
        "checksum",
        "revision",
        "route_prefixes",
        "plan_text",
        "cached_model",
    )

    def __init__(
        self,
        config: JsonDict,
        code_digests: dict[str, str],
        app_digests: dict[str, str],  # Serve app name -> fingerprint (config + code)
        actions: ChangeActions,
        log: list[LogEntry],
        checksum: str,
        revision: str,
        route_prefixes: dict[str, str | None] | None = None,
        # The plan against the generation it was prepared on, as ``gitsync diff`` prints
        # it (values masked): what the web page shows for this generation.
        plan_text: str = "",
        cached_model: model.DeployConfig | None = None,
    ) -> None:
        self.config = config
        self.code_digests = code_digests
        self.app_digests = app_digests
        self.actions = actions
        self.log = log
        self.checksum = checksum
        self.revision = revision
        self.route_prefixes: dict[str, str | None] = (
            {} if route_prefixes is None else route_prefixes
        )
        self.plan_text = plan_text
        self.cached_model = cached_model

    def to_json(self) -> JsonDict:
        """The record without ``config`` (the store keeps that in its own column)."""
        return {
            "code_digests": self.code_digests,
            "app_digests": self.app_digests,
            "route_prefixes": self.route_prefixes,
            "actions": self.actions.to_json(),
            "log": [entry.to_json() for entry in self.log],
            "checksum": self.checksum,
            "revision": self.revision,
            "plan_text": self.plan_text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PreparedPackage:
        if data is None:
            raise ValueError("session has no prepared package")
        return cls(
            config=dict(data["config"]),
            code_digests=dict(data["code_digests"]),
            app_digests=dict(data["app_digests"]),
            actions=ChangeActions.from_json(data["actions"]),
            log=[
                LogEntry(e["time"], e["level"], e["message"], bool(e.get("applicationPackage")))
                for e in data["log"]
            ],
            checksum=str(data["checksum"]),
            revision=str(data["revision"]),
            route_prefixes=dict(data.get("route_prefixes", {})),
            plan_text=str(data.get("plan_text", "")),
        )

    def app_configs(self, names: Collection[str]) -> dict[str, JsonDict]:
        """Serve application name -> its entry in the deploy config, for ``names``
        (the scan stops once it has them all)."""
        wanted = set(names)
        found: dict[str, JsonDict] = {}
        if not wanted:
            return found
        for entry in self.config.get("applications") or []:
            name = str(entry.get("name", "default"))
            if name in wanted:
                found[name] = entry
                if len(found) == len(wanted):
                    break
        return found

    def deploy_model(self) -> model.DeployConfig:
        """The canonical model of the config (built once, then kept: it is what the next
        prepare diffs against)."""
        if self.cached_model is None:
            self.cached_model = model.from_config(self.config, self.code_digests)
        return self.cached_model

    def to_record(self) -> tuple[JsonDict, JsonDict]:
        """(record, config) as the store saves them."""
        return self.to_json(), self.config


def code_digests(files: Mapping[str, bytes], code_paths: Sequence[str]) -> dict[str, str]:
    """sha256 per local working_dir / py_modules directory, so a code change is a restart."""
    return {path: package.tree_digest(files, path) for path in code_paths}


class CheckedPackage(NamedTuple):
    """A package validated before the engine's lock was taken, keyed by the digest of
    the exact files validated: prepare reuses the result only for those same bytes."""

    revision: str
    unknown_keys: UnknownKeys
    result: loader.LoadResult

    def matches(self, revision: str, unknown_keys: UnknownKeys) -> bool:
        return self.revision == revision and self.unknown_keys == unknown_keys


def check_package(files: Mapping[str, bytes], unknown_keys: UnknownKeys = "warn") -> CheckedPackage:
    """The package's own validation (no other unit, no live state), run before the
    engine's lock is taken so that a huge or hostile package never holds it. Raises
    InvalidConfig with the issues ``prepare_package`` would raise; else the result,
    for ``prepare_package`` to carry on from without validating again."""
    revision = package.tree_digest(files)
    return CheckedPackage(revision, unknown_keys, _load(files, revision, unknown_keys))


def _load(
    files: Mapping[str, bytes], revision: str, unknown_keys: UnknownKeys
) -> loader.LoadResult:
    snapshot = Snapshot(revision=revision, files=files)
    result = loader.load_snapshot(snapshot, unknown_keys=unknown_keys)
    if not result.ok or result.config is None:
        raise InvalidConfig(result.issues)
    return result


def prepare_package(
    files: Mapping[str, bytes],
    live: PreparedPackage | None,
    others: Sequence[OtherUnitApp],
    now: float,
    unknown_keys: UnknownKeys = "warn",
    checked: CheckedPackage | None = None,
) -> PreparedPackage:
    """Validate ``files`` and diff them against ``live`` (the active session's prepared
    package, or None). Raises InvalidConfig (INVALID_APPLICATION_PACKAGE).

    ``checked`` is ``check_package``'s result from before the lock: used when it was
    made from these very files (same digest), else the files are validated here.
    Unknown keys Ray drops are warnings by default (Ray's contract, which the Serve REST
    API keeps); an engine run with ``--unknown-keys error`` refuses them."""
    revision = package.tree_digest(files)
    if checked is not None and checked.matches(revision, unknown_keys):
        result = checked.result
    else:
        result = _load(files, revision, unknown_keys)
    assert result.config is not None  # _load raised otherwise
    digests = code_digests(files, result.code_paths)
    desired = model.from_config(result.config, digests)
    conflicts = _cross_unit_issues(result.config, desired, others)
    if conflicts:
        raise InvalidConfig([*result.issues, *conflicts])
    live_model = live.deploy_model() if live else model.DeployConfig()
    the_plan = plan.diff(desired, live_model)
    millis = int(now * 1000)
    log = [
        LogEntry(millis, "WARNING", issue.render(), application_package=True)
        for issue in result.warnings
    ]
    log.extend(
        LogEntry(millis, "INFO", f"{change.path} changed ({change.note or 'instance option'})")
        for change in the_plan.instance
    )
    manifest = {path: package.sha256_hex(data) for path, data in files.items()}
    return PreparedPackage(
        config=result.config,
        code_digests=digests,
        app_digests={a.name: a.fingerprint for a in desired.applications},
        route_prefixes={a.name: a.route_prefix for a in desired.applications},
        actions=render_actions(the_plan),
        log=log,
        checksum=package.manifest_checksum(manifest),
        revision=revision,
        plan_text=render_text(the_plan),
        cached_model=desired,
    )


def _cross_unit_issues(
    config: Mapping[str, Any],
    desired: model.DeployConfig,
    others: Sequence[OtherUnitApp],
) -> list[Issue]:
    """Serve names and route prefixes must be unique across the tenant's units (§3)."""
    if not others:
        return []
    names = {other.name: other for other in others}
    prefixes = {other.route_prefix: other for other in others if other.route_prefix is not None}
    where = {
        str(entry.get("name", "default")): index
        for index, entry in enumerate(config.get("applications") or [])
    }
    issues: list[Issue] = []
    for item in desired.applications:
        index = where.get(item.name, 0)
        owner = names.get(item.name)
        if owner is not None:
            issues.append(
                Issue(
                    "",
                    0,
                    0,
                    ("applications", index, "name"),
                    "error",
                    f"application name '{item.name}' is already used by deployment unit "
                    f"'{owner.unit.full_string()}'",
                    "unique-across-units",
                )
            )
        owner = prefixes.get(item.route_prefix) if item.route_prefix is not None else None
        if owner is not None:
            issues.append(
                Issue(
                    "",
                    0,
                    0,
                    ("applications", index, "route_prefix"),
                    "error",
                    f"route prefix '{item.route_prefix}' of application '{item.name}' is already "
                    f"used by application '{owner.name}' of deployment unit "
                    f"'{owner.unit.full_string()}'",
                    "unique-across-units",
                )
            )
    return issues


def render_actions(the_plan: plan.Plan) -> ChangeActions:
    """The plan in the shape of Vespa's configChangeActions, plus our own classes."""
    actions = ChangeActions(
        create=[a.name for a in the_plan.create], delete=[a.name for a in the_plan.delete]
    )
    for change in the_plan.update:
        by_class: dict[str, list[str]] = {"restart": [], "reconfigure": [], "scale": []}
        app_fields: dict[str, list[str]] = {"reconfigure": [], "scale": []}
        for field_change in change.changes:
            parts = field_change.parts
            if parts[0] != "deployments" and field_change.change_class in app_fields:
                app_fields[field_change.change_class].append(field_change.path)
        for cls, paths in app_fields.items():
            if paths:
                target = actions.reconfigure if cls == "reconfigure" else actions.scale
                target.append({"application": change.name, "deployment": None, "fields": paths})
        for dep in change.deployments:
            if dep.change_class is None:
                continue
            fields = [
                c.path
                for c in change.changes
                if (c.parts[0] == "deployments" and c.parts[1] == dep.name) or c.all_deployments
            ]
            by_class[dep.change_class].append(dep.name)
            if dep.change_class != "restart":
                target = actions.reconfigure if dep.change_class == "reconfigure" else actions.scale
                target.append(
                    {"application": change.name, "deployment": dep.name, "fields": fields}
                )
        if by_class["restart"]:
            actions.restart.append(_restart_entry(change, by_class["restart"]))
    return actions


def _restart_entry(change: plan.AppChange, deployments: Sequence[str]) -> JsonDict:
    """One Vespa-shaped restart action per Serve application."""
    messages = [f"{c.path} {c.kind}" for c in change.changes if c.change_class == "restart"] or [
        "code changed"
    ]
    return {
        "clusterName": change.name,
        "clusterType": "serve-application",
        "serviceType": "deployment",
        "messages": messages,
        "services": [
            {
                "serviceName": name,
                "serviceType": "deployment",
                "configId": f"{change.name}/{name}",
                "hostName": "localhost",
            }
            for name in deployments
        ],
    }
