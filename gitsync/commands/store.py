"""``gitsync store migrate``: move an embedded state directory into a shared database."""

from __future__ import annotations

import time
from pathlib import Path

from gitsync.engine.store import locate
from gitsync.engine.store.transfer import copy_store
from gitsync.errors import NotFound
from gitsync.output import echo


def migrate(source_dir: str, target_url: str) -> int:
    """Copy every tenant, session, file, application and history record of the SQLite
    store in ``source_dir`` into the empty PostgreSQL database at ``target_url``."""
    source = locate(Path(source_dir))
    if not (Path(source_dir) / "engine.sqlite3").is_file():
        raise NotFound(f"No gitsync state in '{source_dir}' (no engine.sqlite3 there)")
    target = locate(Path(source_dir), target_url)
    counts = copy_store(source, target, time.time())
    rows = ", ".join(f"{count} {table}" for table, count in counts.items())
    echo(f"Copied '{source.describe()}' into '{target.describe()}': {rows}.")
    return 0
