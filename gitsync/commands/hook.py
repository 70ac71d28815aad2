"""``gitsync hook install|pre-receive|post-receive``: push to deploy (see gitsync.hooks)."""

from __future__ import annotations

import sys
from pathlib import Path

from gitsync.hooks import install as installer
from gitsync.hooks import receive
from gitsync.hooks.options import HookSettings
from gitsync.output import echo


def install(bare_repo: str, settings: HookSettings, *, force: bool = False) -> int:
    """Write the hooks into ``bare_repo`` and say where pushes will be synced to."""
    for path in installer.install(Path(bare_repo), settings, force=force):
        echo(f"installed {path}")
    where = settings.agent_url or settings.engine_url or settings.state_dir or "./.gitsync"
    echo(f"pushes to '{settings.branch}' are validated, then synced to {where}")
    return 0


def pre_receive(settings: HookSettings) -> int:
    """Run as git's pre-receive hook: refuse a push whose deploy branch is invalid."""
    # Hook output goes to the pusher ("remote: ..."): stdout and stderr both reach them.
    return receive.pre_receive(settings, sys.stdin, sys.stdout)


def post_receive(settings: HookSettings) -> int:
    """Run as git's post-receive hook: sync the pushed deploy branch."""
    return receive.post_receive(settings, sys.stdin, sys.stdout)
