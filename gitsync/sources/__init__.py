"""Sources of desired state, each read into an immutable ``Snapshot``.

- ``directory.read_directory(root, subpath=...)`` and ``directory.DirectoryWatcher``:
  a plain tree; the revision is a content digest ``dir:<sha256>``.
- ``git.GitSource(url_or_path, ref=..., subpath=..., cache_dir=..., timeout_s=...)``:
  committed content of a local repository or a remote; the revision is the commit sha.

The submodules are not imported here: a command that reads git should not pay for
watchdog (~0.1 s to import), nor one that reads a directory for git.
"""

from __future__ import annotations

import os


def is_remote(url_or_path: str) -> bool:
    """A URL (``scheme://``) or scp-like ``user@host:path``; anything else is a path."""
    if "://" in url_or_path:
        return True
    head = url_or_path.split("/", 1)[0]
    return ":" in head and not os.path.exists(url_or_path)
