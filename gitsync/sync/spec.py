"""Which engine a command, hook or agent talks to, as the command line names it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from gitsync.errors import BadRequest
from gitsync.sync.target import EmbeddedTarget, Target

DEFAULT_STATE_DIR = ".gitsync"
STATE_DIR_ENV = "GITSYNC_STATE_DIR"
TOKEN_ENV = "GITSYNC_TOKEN"


@dataclass(frozen=True)
class TargetSpec:
    """``--engine URL`` (remote) or ``--state-dir DIR`` (embedded, in-process)."""

    engine_url: str | None = None
    state_dir: str | None = None
    token: str | None = None

    def open(self) -> Target:
        """The target; the caller closes it."""
        if self.engine_url and self.state_dir:
            raise BadRequest("give either --engine or --state-dir, not both")
        if self.engine_url:
            from gitsync.sync.client import RemoteEngine

            return RemoteEngine(self.engine_url, token=self.token or os.environ.get(TOKEN_ENV))
        return EmbeddedTarget(self.state_dir or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
