"""Copy a whole store into an empty one: ``gitsync store migrate --from .gitsync --to
postgresql://…`` moves an embedded state directory into a shared database.

Rows go table by table in one transaction on the target, so an interrupted copy leaves
the target empty. Leases and the runtime's progress are not copied: they belong to the
processes of the old store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from gitsync.engine.store.connect import StoreLocation
from gitsync.engine.store.schema import (
    applications,
    blobs,
    history,
    history_files,
    serve_apps,
    session_files,
    sessions,
    tenants,
)
from gitsync.engine.store.store import Store
from gitsync.errors import BadRequest

COPIED = (tenants, blobs, sessions, session_files, applications, serve_apps, history, history_files)
_BATCH = 500


def copy_store(source: StoreLocation, target: StoreLocation, now: float) -> dict[str, int]:
    """Copy every row of ``source`` into ``target``, which must hold no state yet;
    the number of rows per table. Both stores are opened (and migrated) first; a
    SQLite source is locked for the copy, so no engine may be using it."""
    if source.url == target.url:
        raise BadRequest("--from and --to are the same store")
    old, new = Store(source), Store(target)
    old.open(now)
    try:
        new.open(now)
        try:
            return new.fill_from(old)
        finally:
            new.close()
    finally:
        old.close()


def rows_of(conn: sa.Connection, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    """All rows of ``table`` in batches, in primary key order."""
    result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
    while batch := result.mappings().fetchmany(_BATCH):
        yield [dict(row) for row in batch]
