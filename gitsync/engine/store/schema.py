"""The store's tables, written once for SQLite and PostgreSQL (SQLAlchemy Core).

A fresh database is created from these definitions and stamped with the newest
migration; an existing one is brought here by the Alembic migrations beside this
module (a test checks the two agree). JSON values are kept as text we serialise
ourselves (sorted keys), so both dialects store the same bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

metadata = MetaData()


def _unit() -> list[Column[str]]:
    return [
        Column("tenant", Text, nullable=False),
        Column("application", Text, nullable=False),
        Column("instance", Text, nullable=False),
    ]


tenants = Table(
    "tenants",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created", Double, nullable=False),
    Column("last_session", Integer, nullable=False),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", Text, primary_key=True),
    Column("md5", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("id", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("application", Text, nullable=False),
    Column("instance", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("changed", Double, nullable=False),
    Column("previous_active", Integer, nullable=False),
    Column("prepared", Text),
    Column("config", Text),
    PrimaryKeyConstraint("tenant", "id"),
)

session_files = Table(
    "session_files",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("session_id", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("sha256", Text),
    Column("status", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "session_id", "path"),
    Index("session_files_sha", "sha256"),
)

applications = Table(
    "applications",
    metadata,
    *_unit(),
    Column("session_id", Integer, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("activated", Double, nullable=False),
    Column("config", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "application", "instance"),
)

serve_apps = Table(
    "serve_apps",
    metadata,
    *_unit(),
    Column("name", Text, nullable=False),
    Column("route_prefix", Text),
    Column("config", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("last_deployed", Double, nullable=False),
    Column("generation", Integer, nullable=False),
    PrimaryKeyConstraint("tenant", "application", "instance", "name"),
)

history = Table(
    "history",
    metadata,
    *_unit(),
    Column("generation", Integer, nullable=False),
    Column("session_id", Integer, nullable=False),
    Column("time", Double, nullable=False),
    Column("kind", Text, nullable=False),
    Column("revision", Text, nullable=False),
    Column("meta", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("rollback_of", Integer),
    Column("health", Text, nullable=False, server_default=""),
    Column("health_message", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("tenant", "application", "instance", "generation"),
)

history_files = Table(
    "history_files",
    metadata,
    *_unit(),
    Column("generation", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "application", "instance", "generation", "path"),
    Index("history_files_sha", "sha256"),
)

# One row: grows with every committed write, whichever engine made it, so an engine
# can tell in one read whether anything changed since it rendered a response.
state_version = Table(
    "state_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

# Named leases with a TTL: the runtime driver, the maintenance job, one agent per
# (tenant, application). ``epoch`` grows each time the lease changes hands.
leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("info", Text, nullable=False, server_default=""),
    Column("expires", Double, nullable=False),
    Column("epoch", BigInteger, nullable=False),
)

# Per unit, the newest generation handed to the runtime by whichever engine drives
# it, and that engine's ``runtime`` lease epoch (written under the lease, before the
# send): a new driver resumes from here and never sends a generation twice.
runtime_sent = Table(
    "runtime_sent",
    metadata,
    *_unit(),
    Column("generation", Integer, nullable=False),
    Column("epoch", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("tenant", "application", "instance"),
)
