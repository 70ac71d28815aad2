"""Bring a store's schema to the newest revision, at open (Alembic).

A fresh database is created from ``schema.metadata`` and stamped with the newest
revision (Alembic's advice for new databases); an existing one is upgraded by the
migrations in ``migrations/versions``. SQLite state directories made before Alembic
carry a ``schema_version`` number instead: it maps to the matching revision first.
On PostgreSQL an advisory lock keeps engines that start together from migrating at
the same time; the dialect's transactional DDL makes each upgrade all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gitsync.engine.store.connect import StoreError, StoreLocation
from gitsync.engine.store.schema import metadata, state_version

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0004"  # the newest revision in migrations/versions (a test checks it)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# schema_version of the stores made before Alembic -> the revision it equals.
LEGACY_REVISIONS = {1: "0001", 2: "0002"}
_MIGRATION_LOCK = 0x67697473  # any constant: the advisory lock's key

_version_table = sa.table("alembic_version", sa.column("version_num", sa.Text))
_legacy_table = sa.table("schema_version", sa.column("version", sa.Integer))
#: The schema's revision (the embedded store reads it at open from its compiled plans).
revision_query = sa.select(_version_table.c.version_num)


def alembic_config(conn: sa.Connection) -> Config:
    # Alembic is imported only when a store needs upgrading: a store already at HEAD (every
    # open but the first) answers with one read, and the push hook and CLI start faster.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def current_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(revision_query).scalar()


def upgrade(conn: sa.Connection, location: StoreLocation) -> None:
    """Migrate in one transaction; nothing to do (one read) when already at HEAD."""
    with conn.begin():
        if location.shared:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        revision = current_revision(conn)
        if revision == HEAD:
            return
        tables = set(sa.inspect(conn).get_table_names())
        if revision is None and "tenants" not in tables:
            metadata.create_all(conn)
            conn.execute(state_version.insert().values(id=1, version=0))
            _stamp(conn, HEAD)
            return
        if revision is None:
            revision = _legacy_revision(conn, location, tables)
            _stamp(conn, revision)
        from alembic import command
        from alembic.util import CommandError

        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:
            raise StoreError(
                f"State store '{location.describe()}' has schema revision {revision}, which "
                f"this gitsync does not know (newer than {HEAD}?): {exc}"
            ) from exc


def _legacy_revision(conn: sa.Connection, location: StoreLocation, tables: set[str]) -> str:
    version = 0
    if "schema_version" in tables:
        version = int(conn.execute(sa.select(_legacy_table.c.version)).scalar() or 0)
    if version not in LEGACY_REVISIONS:
        raise StoreError(
            f"State store '{location.describe()}' has schema version {version}, which this "
            f"gitsync does not know (it knows 1 to {max(LEGACY_REVISIONS)}, then Alembic "
            "revisions)"
        )
    return LEGACY_REVISIONS[version]


def _stamp(conn: sa.Connection, revision: str) -> None:
    if not sa.inspect(conn).has_table("alembic_version"):
        conn.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
    conn.execute(_version_table.delete())
    conn.execute(_version_table.insert().values(version_num=revision))
