"""What several commands share: the source spec (re-exported) and opening an engine target."""

from __future__ import annotations

import os
from dataclasses import dataclass

from gitsync.errors import BadRequest
from gitsync.sources.spec import SourceSpec, read_source
from gitsync.sync.target import Target

__all__ = ["DEFAULT_STATE_DIR", "SourceSpec", "TargetSpec", "read_source"]

DEFAULT_STATE_DIR = ".gitsync"


@dataclass(frozen=True)
class TargetSpec:
    """``--engine URL`` (remote) or ``--state-dir DIR`` (embedded, in-process)."""

    engine_url: str | None = None
    state_dir: str | None = None
    token: str | None = None

    def open(self) -> Target:
        if self.engine_url and self.state_dir:
            raise BadRequest("give either --engine or --state-dir, not both")
        if self.engine_url:
            from gitsync.sync.client import RemoteEngine

            return RemoteEngine(
                self.engine_url, token=self.token or os.environ.get("GITSYNC_TOKEN")
            )
        from gitsync.sync.target import EmbeddedTarget

        return EmbeddedTarget(
            self.state_dir or os.environ.get("GITSYNC_STATE_DIR") or DEFAULT_STATE_DIR
        )
