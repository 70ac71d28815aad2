"""Where desired state comes from, as the commands and the agent name it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitsync.config.snapshot import Snapshot
from gitsync.sources import is_remote


@dataclass(frozen=True)
class SourceSpec:
    """A directory, or a git repository (local path or URL) at a ref and subpath."""

    location: str
    ref: str | None = None
    subpath: str = ""

    @property
    def is_git(self) -> bool:
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
