"""The engine's store: the only package with SQL. Embedded SQLite in the state
directory, or PostgreSQL shared by several engines (``--store postgresql://…``)."""

from __future__ import annotations

from gitsync.engine.store.connect import (
    DB_NAME,
    LOCK_NAME,
    STORE_ENV,
    StoreError,
    StoreLocation,
    StoreUnavailable,
    locate,
)
from gitsync.engine.store.store import Activation, AppRow, LeaseRow, StaleActivation, Store

__all__ = [
    "DB_NAME",
    "LOCK_NAME",
    "STORE_ENV",
    "Activation",
    "AppRow",
    "LeaseRow",
    "StaleActivation",
    "Store",
    "StoreError",
    "StoreLocation",
    "StoreUnavailable",
    "locate",
]
