"""Copy a whole store into an empty one: ``gitsync store migrate --from .gitsync --to
postgresql://…`` moves an embedded state directory into a shared database.

Rows go table by table in one transaction on the target, so an interrupted copy leaves
the target empty. Leases and the runtime's progress are not copied: they belong to the
processes of the old store.
"""

from __future__ import annotations

from gitsync.engine.store.connect import StoreLocation
from gitsync.engine.store.store import Store
from gitsync.errors import BadRequest


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
