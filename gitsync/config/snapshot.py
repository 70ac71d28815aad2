"""Snapshot: one immutable read of a source (docs/architecture.md, Words)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

_NO_META: Mapping[str, str] = MappingProxyType({})


class Snapshot(NamedTuple):
    """The files of a source at one revision.

    ``files`` maps POSIX paths relative to the snapshot root to their bytes (regular
    files only). ``symlinks`` holds relative paths that were symlinks in the source:
    they are never followed, and a config that refers through one is an error.
    ``meta`` carries commit metadata (``author``, ``message``, ``time``) when known.
    """

    revision: str
    files: Mapping[str, bytes]
    symlinks: frozenset[str] = frozenset()
    meta: Mapping[str, str] = _NO_META

    def is_dir(self, rel: str) -> bool:
        """True when some file lies below ``rel`` (directories are implied by files)."""
        prefix = rel.rstrip("/") + "/"
        if prefix == "./" or prefix == "/":
            return bool(self.files)
        return any(name.startswith(prefix) for name in self.files)
