"""``.gitsync.yaml``: gitsync's own settings at the root of a snapshot.

A hidden file, so never read as a Serve config. Two sections are read:

- ``config``: which files are the config, either ``files`` (an exact list, as the
  packages gitsync deploys carry) or ``root`` and ``include`` patterns;
- ``prune``: ``allow_mass_prune: true`` and ``max_prune: 0.3`` loosen or set the prune
  safety rules for this repository (the command-line flags win where they loosen);
- ``validate``: ``unknown_keys: warn`` accepts the keys Ray drops, as warnings (the
  default, ``error``, refuses them; a command-line ``--unknown-keys`` wins).

Every other key is kept as it is and travels in the deployed package.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gitsync.config import yamlio
from gitsync.config.issues import Issue
from gitsync.config.schema import UNKNOWN_KEY_MODES, UnknownKeys
from gitsync.config.snapshot import Snapshot
from gitsync.errors import YamlError

SETTINGS_FILE = ".gitsync.yaml"


def read_settings(snapshot: Snapshot) -> dict[str, Any]:
    """The settings of ``snapshot`` (``{}`` without the file); raises YamlError."""
    data = snapshot.files.get(SETTINGS_FILE)
    if data is None:
        return {}
    try:
        value = yamlio.load(data, SETTINGS_FILE)
    except yamlio.YamlError as exc:
        raise YamlError(exc.issue) from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error((), "settings must be a mapping", line=1)
    return value


class Selection(NamedTuple):
    """Which files are the config: an exact list, or a root and name patterns."""

    files: list[str] | None = None
    root: str | None = None
    include: list[str] | None = None


def config_selection(snapshot: Snapshot) -> Selection:
    """The ``config`` section, checked; raises YamlError naming the bad key."""
    section = read_settings(snapshot).get("config") or {}
    if not isinstance(section, dict):
        raise _error(("config",), "config must be a mapping")
    lists: dict[str, list[str] | None] = {}
    for key in ("files", "include"):
        value = section.get(key)
        if key in section and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise _error(("config", key), f"config.{key} must be a list of strings")
        lists[key] = value
    root = section.get("root")
    if "root" in section and not isinstance(root, str):
        raise _error(("config", "root"), "config.root must be a string")
    return Selection(files=lists["files"], root=root, include=lists["include"])


class PruneSettings(NamedTuple):
    """What the repository says about pruning (None: it says nothing)."""

    allow_mass_prune: bool = False
    max_prune: float | None = None


def prune_settings(snapshot: Snapshot) -> PruneSettings:
    """The ``prune`` section; values of the wrong type are ignored."""
    prune = read_settings(snapshot).get("prune") or {}
    if not isinstance(prune, dict):
        return PruneSettings()
    share = prune.get("max_prune")
    if not isinstance(share, int | float) or isinstance(share, bool):
        share = None
    return PruneSettings(
        allow_mass_prune=prune.get("allow_mass_prune") is True,
        max_prune=float(share) if share is not None else None,
    )


def unknown_keys_setting(snapshot: Snapshot) -> UnknownKeys | None:
    """``validate.unknown_keys`` (``error`` or ``warn``), None when unset; raises
    YamlError for anything else."""
    section = read_settings(snapshot).get("validate")
    if section is None:
        return None
    value = section.get("unknown_keys") if isinstance(section, dict) else None
    if not isinstance(section, dict) or value not in (*UNKNOWN_KEY_MODES, None):
        raise _error(
            ("validate", "unknown_keys"),
            "validate must be a mapping whose unknown_keys is 'error' or 'warn'",
        )
    mode: UnknownKeys | None = value
    return mode


def _error(path: tuple[str, ...], message: str, *, line: int = 0) -> YamlError:
    return YamlError(Issue(SETTINGS_FILE, line, line, path, "error", message, "settings"))
