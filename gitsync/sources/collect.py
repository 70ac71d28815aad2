"""What both sources share: size caps, subpath checks and the snapshot builder.

A source walks its tree (a directory on disk, or a commit's tree objects) and hands
every entry to a :class:`SnapshotBuilder`, which enforces the caps as it goes, so an
oversized repository is refused before it is read into memory.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from typing import NamedTuple

from gitsync.config.snapshot import Snapshot
from gitsync.errors import UnsafeInput

# Version-control metadata never belongs to a snapshot.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", "CVS"})
# Nor does an engine's state directory inside a tree (the default ``./.gitsync`` of
# ``gitsync sync .``): a directory holding the engine's lock file (the engine's
# ``LOCK_NAME``, which the sources may not import). Read, its database would be content,
# every activation would change it, and a watching agent would sync for ever.
STATE_LOCK_NAME = "engine.lock"


class Limits(NamedTuple):
    """Caps on one snapshot. A config repository may carry code directories
    (``working_dir``), so these are generous but finite."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 100 * 1024 * 1024
    max_files: int = 10_000


DEFAULT_LIMITS = Limits()


def normalize_subpath(subpath: str) -> str:
    """Return ``subpath`` as a clean relative POSIX path ('' for the root).

    Raises UnsafeInput when it is absolute or climbs out of the root with ``..``.
    """
    if not subpath or subpath in (".", "./"):
        return ""
    if "\0" in subpath:
        raise UnsafeInput(f"subpath {subpath!r} contains a NUL byte")
    if subpath.startswith("/"):
        raise UnsafeInput(f"subpath {subpath!r} must be relative to the source root")
    clean = posixpath.normpath(subpath)
    if clean == ".." or clean.startswith("../"):
        raise UnsafeInput(f"subpath {subpath!r} escapes the source root")
    return "" if clean == "." else clean


def check_size(rel: str, size: int, limits: Limits) -> None:
    """Refuse one file before it is read when it is over ``max_file_bytes``."""
    if size > limits.max_file_bytes:
        raise UnsafeInput(
            f"{rel}: file is {size} bytes, over the limit of {limits.max_file_bytes} bytes"
        )


class SnapshotBuilder:
    """Collects files and symlinks under the caps, then freezes them into a Snapshot."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.files: dict[str, bytes] = {}
        self.symlinks: set[str] = set()
        self.total_bytes = 0
        self.admitted = 0  # files counted, whether or not their content is stored yet

    def _count(self, rel: str) -> None:
        if self.admitted + len(self.symlinks) >= self.limits.max_files:
            raise UnsafeInput(
                f"{rel}: more than {self.limits.max_files} files in the snapshot "
                f"(limit max_files={self.limits.max_files})"
            )

    def admit(self, rel: str, size: int) -> None:
        """Count a file of ``size`` bytes against the caps, before its content is read."""
        self._count(rel)
        check_size(rel, size, self.limits)
        self.total_bytes += size
        self.admitted += 1
        if self.total_bytes > self.limits.max_total_bytes:
            raise UnsafeInput(
                f"{rel}: snapshot is over the limit of {self.limits.max_total_bytes} bytes in total"
            )

    def put(self, rel: str, data: bytes) -> None:
        """Store the content of a file already admitted."""
        self.files[rel] = data

    def add_file(self, rel: str, data: bytes) -> None:
        self.admit(rel, len(data))
        self.put(rel, data)

    def add_symlink(self, rel: str) -> None:
        self._count(rel)
        self.symlinks.add(rel)

    def build(self, revision: str, meta: Mapping[str, str]) -> Snapshot:
        return Snapshot(
            revision=revision,
            files=dict(sorted(self.files.items())),
            symlinks=frozenset(self.symlinks),
            meta=dict(meta),
        )

    def content_digest(self) -> str:
        """sha256 over the sorted paths, their kind and each file's own sha256.

        NUL separates the fields: it is the one byte no path can contain.
        """
        outer = hashlib.sha256()
        entries = [(p, "file") for p in self.files] + [(p, "symlink") for p in self.symlinks]
        for rel, kind in sorted(entries):
            inner = hashlib.sha256(self.files[rel]).hexdigest() if kind == "file" else ""
            outer.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            outer.update(kind.encode() + b"\0" + inner.encode() + b"\0")
        return outer.hexdigest()
