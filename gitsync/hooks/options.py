"""The hooks' options, defined once: ``gitsync hook ...`` (click, in ``gitsync.main``)
builds its options from :data:`OPTIONS`, and ``python -m gitsync.hooks``, what the
installed hooks run, parses the same table here without importing click or argparse
(a push waits on two hook processes; each millisecond of start-up counts twice)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

HOOK_NAMES = ("pre-receive", "post-receive")


# NamedTuples, not dataclasses: a class is built ~10 times faster, and ``--help`` then
# loads no dataclasses (nor inspect, ast and tokenize behind it).
class HookSettings(NamedTuple):
    """Where a hook validates and syncs: a running agent (``agent_url``, or the one
    holding the lock under ``state_dir``), else ``engine_url`` or the embedded engine
    in ``state_dir``."""

    branch: str = "main"
    engine_url: str | None = None
    state_dir: str | None = None
    agent_url: str | None = None
    subpath: str = ""
    tenant: str = "default"
    application: str = "default"

    def arguments(self) -> list[str]:
        """The command-line form, as the installed hooks pass it back."""
        args: list[str] = []
        for option in OPTIONS:
            value = getattr(self, option.field)
            if option.field == "state_dir" and value:
                value = str(Path(value).absolute())
            if value or option.field in _ALWAYS_WRITTEN:
                args += [option.flag, str(value)]
        return args


class Option(NamedTuple):
    """One ``--flag VALUE`` option and the HookSettings field it sets."""

    flag: str
    field: str
    help: str
    metavar: str | None = None

    @property
    def default(self) -> str | None:
        value = _DEFAULTS[self.field]
        return value if isinstance(value, str) else None


OPTIONS = (
    Option("--branch", "branch", "The deploy branch.", "BRANCH"),
    Option("--engine", "engine_url", "Sync against a remote engine.", "URL"),
    Option("--state-dir", "state_dir", "Embedded engine state (and its agent).", "DIR"),
    Option("--agent", "agent_url", "Ask this running agent.", "URL"),
    Option("--path", "subpath", "Subdirectory of the repository.", "DIR"),
    Option("--tenant", "tenant", "The deployment unit's tenant.", "NAME"),
    Option("--application", "application", "The deployment unit's application.", "NAME"),
)
_DEFAULTS = HookSettings._field_defaults
_ALWAYS_WRITTEN = frozenset({"branch", "tenant", "application"})
_BY_FLAG = {option.flag: option for option in OPTIONS}


class UsageError(Exception):
    """A hook command line that does not parse (exit 2, as click and argparse do)."""


def usage() -> str:
    lines = [f"usage: python -m gitsync.hooks {{{','.join(HOOK_NAMES)}}} [options]", ""]
    for option in OPTIONS:
        flag = f"{option.flag} {option.metavar or option.field.upper()}"
        default = f" [default: {option.default}]" if option.default else ""
        lines.append(f"  {flag:<28}{option.help}{default}")
    return "\n".join(lines)


def parse(argv: Sequence[str]) -> tuple[str, HookSettings] | None:
    """``NAME [--flag VALUE | --flag=VALUE]...``; None for ``-h``/``--help``."""
    if any(arg in ("-h", "--help") for arg in argv):
        return None
    if not argv or argv[0] not in HOOK_NAMES:
        raise UsageError(f"the first argument must be one of {', '.join(HOOK_NAMES)}")
    values: dict[str, str] = {}
    rest = list(argv[1:])
    while rest:
        flag, has_value, value = rest.pop(0).partition("=")
        option = _BY_FLAG.get(flag)
        if option is None:
            raise UsageError(f"unknown option {flag!r}")
        if not has_value:
            if not rest:
                raise UsageError(f"{flag} needs a value")
            value = rest.pop(0)
        values[option.field] = value
    return argv[0], HookSettings(**values)
