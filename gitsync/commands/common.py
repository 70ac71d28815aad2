"""What several commands share: reading a source and opening an engine target."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitsync.errors import BadRequest
from gitsync.snapshot import Snapshot
from gitsync.target import Target

DEFAULT_STATE_DIR = ".gitsync"


@dataclass(frozen=True)
class SourceSpec:
    """A directory, or a git repository (local path or URL) at a ref and subpath."""

    location: str
    ref: str | None = None
    subpath: str = ""

    @property
    def is_git(self) -> bool:
        from gitsync.sources import is_remote

        if self.ref is not None or is_remote(self.location):
            return True
        path = Path(self.location)
        return (path / ".git").exists() or (
            (path / "HEAD").is_file() and (path / "objects").is_dir()
        )


def read_source(spec: SourceSpec) -> Snapshot:
    """One snapshot of the source: committed content for git, the files for a directory."""
    if spec.is_git:
        from gitsync.sources.git import GitSource

        return GitSource(spec.location, ref=spec.ref or "HEAD", subpath=spec.subpath).snapshot()
    from gitsync.sources.directory import read_directory

    return read_directory(Path(spec.location), subpath=spec.subpath)


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
            from gitsync.client import RemoteEngine

            return RemoteEngine(
                self.engine_url, token=self.token or os.environ.get("GITSYNC_TOKEN")
            )
        from gitsync.target import EmbeddedTarget

        return EmbeddedTarget(
            self.state_dir or os.environ.get("GITSYNC_STATE_DIR") or DEFAULT_STATE_DIR
        )
