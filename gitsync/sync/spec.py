"""Which engine a command, hook or agent talks to, as the command line names it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from gitsync.errors import BadRequest, NotFound
from gitsync.sync.target import EmbeddedTarget, Target

DEFAULT_STATE_DIR = ".gitsync"
STATE_DIR_ENV = "GITSYNC_STATE_DIR"
TOKEN_ENV = "GITSYNC_TOKEN"
ENGINE_ENV = "GITSYNC_ENGINE"


def state_dir_of(given: str | None) -> str:
    """``--state-dir``, else ``$GITSYNC_STATE_DIR``, else ``./.gitsync``."""
    return given or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR


class NoEngineState(NotFound):
    """A read-only command was pointed at a state directory that holds no engine."""

    exit_code = 2


class TargetSpec(NamedTuple):
    """``--engine URL`` (remote) or ``--state-dir DIR`` (embedded, in-process).

    ``$GITSYNC_ENGINE`` stands for ``--engine`` when neither option is given. A state
    directory held by a running agent or engine that serves an API is reached through
    that API (the holder records its URL there), so commands work beside it.
    """

    engine_url: str | None = None
    state_dir: str | None = None
    token: str | None = None

    def open(self, *, read_only: bool = False) -> Target:
        """The target, which the caller closes; ``read_only`` never creates a state
        directory (a missing one is NoEngineState)."""
        if self.engine_url and self.state_dir:
            raise BadRequest("give either --engine or --state-dir, not both")
        url = self.engine_url or (None if self.state_dir else os.environ.get(ENGINE_ENV))
        if not url:
            from gitsync.engine.served import served_url

            state_dir = state_dir_of(self.state_dir)
            url = served_url(Path(state_dir))
            if url is None:
                return _embedded(state_dir, read_only)
        from gitsync.sync.client import RemoteEngine

        return RemoteEngine(url, token=self.token or os.environ.get(TOKEN_ENV))


def _embedded(state_dir: str, read_only: bool) -> Target:
    from gitsync.engine.store import DB_NAME

    if read_only and not (Path(state_dir) / DB_NAME).is_file():
        raise NoEngineState(
            f"no engine state at {state_dir} (nothing was synced there yet; give the "
            "--state-dir an agent or sync used, or --engine URL)"
        )
    return EmbeddedTarget(state_dir)
