"""``gitsync hook install``: write the pre-receive and post-receive hooks of a bare
repository. Each runs ``python -m gitsync.hooks NAME`` with the settings it was
installed with (see :mod:`gitsync.hooks.receive` for what they do)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from gitsync.errors import BadRequest
from gitsync.hooks.options import HOOK_NAMES, HookSettings
from gitsync.localfile import read_regular, write_replacing

MARKER = "# gitsync push-to-deploy hook"
_MAX_HOOK_BYTES = 1 << 20  # ours are a few hundred bytes


def install(bare_repo: Path, settings: HookSettings, *, force: bool = False) -> list[Path]:
    """Write executable pre-receive and post-receive hooks; returns their paths."""
    if not (bare_repo / "HEAD").is_file() or not (bare_repo / "objects").is_dir():
        raise BadRequest(f"{bare_repo} is not a bare git repository (no HEAD and objects/)")
    hooks_dir = bare_repo / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    written = []
    for name in HOOK_NAMES:
        path = hooks_dir / name
        if (path.exists() or path.is_symlink()) and not force and not _ours(path):
            raise BadRequest(
                f"{path} exists and was not written by gitsync: pass --force to replace it"
            )
        # ``-m gitsync.hooks``, not the click CLI: a push waits on two hook processes,
        # and click's import alone is ~35 ms of each.
        command = [sys.executable, "-m", "gitsync.hooks", name, *settings.arguments()]
        script = (
            f"#!/bin/sh\n{MARKER} ({name}); re-run `gitsync hook install` to change it.\n"
            f"exec {shlex.join(command)}\n"
        )
        # A new file in the hook's place: a hook that is a link to a script other
        # repositories share is replaced, never written through.
        write_replacing(path, script.encode(), 0o755)
        written.append(path)
    return written


def _ours(path: Path) -> bool:
    """True when the hook at ``path`` is one gitsync wrote: a small regular file with
    the marker (read through a link; a FIFO or device there is not ours, and is not
    waited on)."""
    try:
        return MARKER.encode() in read_regular(path, _MAX_HOOK_BYTES, follow_links=True)
    except (OSError, ValueError):
        return False
