"""``gitsync hook install|pre-receive|post-receive``: push to deploy (see gitsync.hooks.receive)."""

from __future__ import annotations

import sys
from pathlib import Path

from gitsync.hooks import receive as hooks
from gitsync.output import echo


def install(bare_repo: str, settings: hooks.HookSettings, *, force: bool = False) -> int:
    for path in hooks.install(Path(bare_repo), settings, force=force):
        echo(f"installed {path}")
    where = settings.agent_url or settings.engine_url or settings.state_dir or "./.gitsync"
    echo(f"pushes to '{settings.branch}' are validated, then synced to {where}")
    return 0


def pre_receive(settings: hooks.HookSettings) -> int:
    # Hook output goes to the pusher ("remote: ..."): stdout and stderr both reach them.
    return hooks.pre_receive(settings, sys.stdin, sys.stdout)


def post_receive(settings: hooks.HookSettings) -> int:
    return hooks.post_receive(settings, sys.stdin, sys.stdout)
