"""``gitsync hook install``: write the pre-receive and post-receive hooks of a bare
repository. Each runs ``python -m gitsync.hooks NAME`` with the settings it was
installed with (see :mod:`gitsync.hooks.receive` for what they do)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from gitsync.errors import BadRequest
from gitsync.hooks.options import HOOK_NAMES, HookSettings

MARKER = "# gitsync push-to-deploy hook"


def install(bare_repo: Path, settings: HookSettings, *, force: bool = False) -> list[Path]:
    """Write executable pre-receive and post-receive hooks; returns their paths."""
    if not (bare_repo / "HEAD").is_file() or not (bare_repo / "objects").is_dir():
        raise BadRequest(f"{bare_repo} is not a bare git repository (no HEAD and objects/)")
    hooks_dir = bare_repo / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    written = []
    for name in HOOK_NAMES:
        path = hooks_dir / name
        if path.exists() and MARKER not in path.read_text(errors="replace") and not force:
            raise BadRequest(
                f"{path} exists and was not written by gitsync: pass --force to replace it"
            )
        # ``-m gitsync.hooks``, not the click CLI: a push waits on two hook processes,
        # and click's import alone is ~35 ms of each.
        command = [sys.executable, "-m", "gitsync.hooks", name, *settings.arguments()]
        path.write_text(
            f"#!/bin/sh\n{MARKER} ({name}); re-run `gitsync hook install` to change it.\n"
            f"exec {shlex.join(command)}\n"
        )
        path.chmod(0o755)
        written.append(path)
    return written
