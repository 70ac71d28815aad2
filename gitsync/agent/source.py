"""The agent's view of a source: a cheap "which revision is it now?" and a snapshot
that is only read (fetched) when that revision is new.

Git: ``revision()`` is ``ls-remote`` (or ``rev-parse`` for a local repository) and
``snapshot()`` fetches only when the ref moved. Directory: the revision is the content
digest, so reading it *is* the check; the snapshot read for it is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

from gitsync.agent.metrics import AgentMetrics
from gitsync.config.snapshot import Snapshot
from gitsync.errors import SourceError
from gitsync.sources.spec import SourceSpec

T = TypeVar("T")


class AgentSource(Protocol):
    """Where the agent reads desired state: ``revision()`` answers "has it moved?"
    cheaply, ``snapshot(revision)`` reads it (once per revision). Both raise SourceError
    when the source cannot be read."""

    kind: str  # "git" or "directory"

    def describe(self) -> dict[str, str]:
        """Location, ref and subpath, as the status shows them."""
        ...

    def revision(self) -> str:
        """The current revision: a commit sha, or a directory's content digest."""
        ...

    def snapshot(self, revision: str) -> Snapshot:
        """The files at ``revision``."""
        ...


def _reason(exc: SourceError) -> str:
    return str(getattr(exc, "reason", "failed"))


class GitAgentSource:
    """A git repository (local path or URL) at a ref."""

    kind = "git"

    def __init__(
        self,
        spec: SourceSpec,
        metrics: AgentMetrics,
        *,
        cache_dir: Path | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        from gitsync.sources.git import GitSource

        self.git = GitSource(
            spec.location,
            ref=spec.ref or "HEAD",
            subpath=spec.subpath,
            cache_dir=cache_dir,
            timeout_s=timeout_s,
        )
        self.metrics = metrics
        self._last: Snapshot | None = None

    def describe(self) -> dict[str, str]:
        # GitSource.url never carries credentials (they are split off on the way in).
        return {
            "kind": "git",
            "location": self.git.url,
            "ref": self.git.ref,
            "subpath": self.git.subpath,
        }

    def revision(self) -> str:
        operation = "ls-remote" if self.git.is_remote else "rev-parse"
        return self._timed(operation, self.git.remote_revision)

    def snapshot(self, revision: str) -> Snapshot:
        if self._last is not None and self._last.revision == revision:
            return self._last
        snap = self._timed("fetch", self.git.snapshot)
        self._last = snap
        return snap

    def _timed(self, operation: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            value = call()
        except SourceError as exc:
            self.metrics.git(operation, _reason(exc), time.perf_counter() - started)
            raise
        self.metrics.git(operation, "success", time.perf_counter() - started)
        return value


class DirectoryAgentSource:
    """A plain directory; its revision is a digest of its content."""

    kind = "directory"

    def __init__(self, spec: SourceSpec) -> None:
        self.root = Path(spec.location)
        self.subpath = spec.subpath
        self._last: Snapshot | None = None

    def describe(self) -> dict[str, str]:
        return {"kind": "directory", "location": str(self.root), "ref": "", "subpath": self.subpath}

    def revision(self) -> str:
        from gitsync.sources.directory import read_directory

        self._last = read_directory(self.root, subpath=self.subpath)
        return self._last.revision

    def snapshot(self, revision: str) -> Snapshot:
        if self._last is None or self._last.revision != revision:
            self.revision()
        assert self._last is not None
        return self._last


def open_source(
    spec: SourceSpec, metrics: AgentMetrics, *, cache_dir: Path | None = None
) -> AgentSource:
    if spec.is_git:
        return GitAgentSource(spec, metrics, cache_dir=cache_dir)
    return DirectoryAgentSource(spec)


def watches(source: Mapping[str, str], repository: str, branch: str, subpath: str) -> bool:
    """True when ``source`` (as :meth:`AgentSource.describe` gives it) is the git
    repository at the local path ``repository``, at ``branch``, below ``subpath``."""
    if source.get("kind") != "git":
        return False
    location = str(source.get("location") or "").removeprefix("file://")
    try:
        same_repo = Path(location).resolve() == Path(repository).resolve()
    except (OSError, ValueError):
        return False
    ref = str(source.get("ref") or "").removeprefix("refs/heads/")
    wanted = str(source.get("subpath") or "").strip("/")
    return same_repo and ref == branch and wanted == subpath.strip("/")
