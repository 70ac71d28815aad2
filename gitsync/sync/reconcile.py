"""Plan and apply one snapshot against an engine: the heart of diff, sync and the agent.

``propose`` is everything left of apply, and pure: given a snapshot and the live view
(read by the caller, once), it loads and validates the snapshot, builds the package it
would deploy, and diffs it against what is live. ``check_prune`` applies the prune
safety rules, and ``apply`` hands the package to a target (create session → upload →
prepare → activate).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from gitsync.config import model, package, settings
from gitsync.config.loader import LoadResult, load_snapshot
from gitsync.config.schema import UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.engine.records import DeploySource
from gitsync.errors import InvalidConfig, PruneRefused
from gitsync.plan import diff as plan
from gitsync.sync.target import Applied, LeaseToken, LiveView, Target

SETTINGS_FILE = settings.SETTINGS_FILE
#: Applications kept alive by ``--no-prune`` travel in the package as this file.
KEPT_FILE = "gitsync-kept-applications.yaml"
DEFAULT_MAX_PRUNE = 0.5


class PrunePolicy(NamedTuple):
    """The prune safety rules: refuse a plan that removes every application, or more than
    ``max_prune`` of them, unless mass pruning is allowed; ``prune=False`` keeps them."""

    max_prune: float = DEFAULT_MAX_PRUNE
    allow_mass_prune: bool = False
    prune: bool = True


DEFAULT_POLICY = PrunePolicy()


class Proposal:
    """What a sync of ``snapshot`` would do. (A plain class: a hook builds no dataclass.)"""

    __slots__ = ("snapshot", "load", "live", "plan", "files", "policy", "kept")

    def __init__(
        self,
        snapshot: Snapshot,
        load: LoadResult,
        live: LiveView,
        plan: plan.Plan,
        files: dict[str, bytes],  # the package to deploy
        policy: PrunePolicy,
        kept: list[str] | None = None,  # live apps kept by --no-prune
    ) -> None:
        self.snapshot = snapshot
        self.load = load
        self.live = live
        self.plan = plan
        self.files = files
        self.policy = policy
        self.kept: list[str] = [] if kept is None else kept

    @property
    def in_sync(self) -> bool:
        """Nothing to do: no change, and the live generation came from this revision."""
        return not self.plan.has_changes and self.live.revision == self.snapshot.revision

    @property
    def warnings(self) -> list[str]:
        """The snapshot's warnings (unknown keys Ray drops, in ``warn`` mode), rendered."""
        return [issue.render() for issue in self.load.warnings]

    @property
    def source(self) -> DeploySource:
        return DeploySource(revision=self.snapshot.revision, meta=dict(self.snapshot.meta))


def policy_from(snapshot: Snapshot, base: PrunePolicy) -> PrunePolicy:
    """Flags win where they loosen; the repository may also allow mass pruning, and set
    the share when the flag kept its default."""
    repository = settings.prune_settings(snapshot)
    max_prune = base.max_prune
    if repository.max_prune is not None and base.max_prune == DEFAULT_MAX_PRUNE:
        max_prune = repository.max_prune
    return PrunePolicy(
        max_prune=max_prune,
        allow_mass_prune=base.allow_mass_prune or repository.allow_mass_prune,
        prune=base.prune,
    )


def package_files(snapshot: Snapshot, result: LoadResult) -> dict[str, bytes]:
    """The config files, the local code directories they reference, and a settings file
    naming the config files exactly (so a YAML file among the code is never read as
    config by the engine); nothing else."""
    files = {name: snapshot.files[name] for name in result.files if name in snapshot.files}
    for code in result.code_paths:
        prefix = code.rstrip("/") + "/"
        files.update({n: d for n, d in snapshot.files.items() if n.startswith(prefix)})
    written = {**settings.read_settings(snapshot), "config": {"files": list(result.files)}}
    files[SETTINGS_FILE] = _dump(written)
    return files


def code_digests(files: Mapping[str, bytes], code_paths: list[str]) -> dict[str, str]:
    """The same digests the engine computes at prepare, so both sides compare alike."""
    return {path: package.tree_digest(files, path) for path in code_paths}


def propose(
    snapshot: Snapshot,
    live: LiveView,
    *,
    policy: PrunePolicy = DEFAULT_POLICY,
    unknown_keys: UnknownKeys | None = None,
) -> Proposal:
    """Validate the snapshot and diff it against ``live``; raises InvalidConfig.
    ``unknown_keys`` (a flag) wins over the repository's ``validate.unknown_keys``."""
    policy = policy_from(snapshot, policy)
    result = load_snapshot(snapshot, unknown_keys=unknown_keys)
    if not result.ok or result.config is None:
        raise InvalidConfig(result.issues)
    files = package_files(snapshot, result)
    kept: list[str] = []
    if not policy.prune and live.config is not None:
        files, result, kept = _keep_unlisted(snapshot, files, result, live.config)
    desired = model.from_config(result.config or {}, code_digests(files, result.code_paths))
    current = model.from_config(live.config or {"applications": []}, live.code_digests)
    return Proposal(snapshot, result, live, plan.diff(desired, current), files, policy, kept)


def _keep_unlisted(
    snapshot: Snapshot, files: dict[str, bytes], result: LoadResult, live: Mapping[str, Any]
) -> tuple[dict[str, bytes], LoadResult, list[str]]:
    """``--no-prune``: carry the live entries of unlisted applications in the package."""
    wanted = {
        str(app.get("name", "default")) for app in (result.config or {}).get("applications", [])
    }
    keep = [
        app
        for app in live.get("applications") or []
        if str(app.get("name", "default")) not in wanted
    ]
    if not keep:
        return files, result, []
    kept_file = _dump({"applications": keep})
    merged = Snapshot(
        snapshot.revision, {**snapshot.files, KEPT_FILE: kept_file}, snapshot.symlinks
    )
    reloaded = load_snapshot(
        merged, files=[*result.files, KEPT_FILE], unknown_keys=result.unknown_keys
    )
    if not reloaded.ok:
        raise InvalidConfig(reloaded.issues)
    names = sorted(str(app.get("name", "default")) for app in keep)
    return package_files(merged, reloaded), reloaded, names


def _dump(value: Any) -> bytes:
    import json

    # JSON is YAML: exact, and free of YAML 1.1/1.2 ambiguities.
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def check_prune(proposal: Proposal) -> None:
    """Raise PruneRefused when the plan removes too much (the message names what)."""
    counts = proposal.plan.counts
    policy = proposal.policy
    if not counts.delete or policy.allow_mass_prune:
        return
    names = ", ".join(f'"{name}"' for name in plan.prune_candidates(proposal.plan))
    if counts.would_remove_all:
        reason = f"it would remove every application ({names})"
    elif counts.prune_fraction > policy.max_prune:
        reason = (
            f"it would remove {counts.delete} of {counts.live_total} applications "
            f"({counts.prune_fraction:.0%} > --max-prune {policy.max_prune:.0%}): {names}"
        )
    else:
        return
    raise PruneRefused(
        f"refusing to apply the plan: {reason}. Pass --allow-mass-prune (or set "
        f"prune.allow_mass_prune in {SETTINGS_FILE}) if this is intended, or --no-prune to keep them."
    )


def apply(
    proposal: Proposal,
    target: Target,
    *,
    tenant: str = "default",
    application: str = "default",
    force: bool = False,
    via: str | None = None,
    lease: LeaseToken | None = None,
) -> Applied:
    """Deploy the proposal's package as one session (prune rules checked first);
    ``via`` (e.g. ``push``) is recorded in history as what deployed it."""
    check_prune(proposal)
    source = proposal.source
    if via is not None:
        source = DeploySource(source.revision, {**source.meta, "via": via})
    return target.deploy(
        proposal.files,
        tenant=tenant,
        application=application,
        source=source,
        force=force,
        lease=lease,
    )
