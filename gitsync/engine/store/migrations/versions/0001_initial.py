"""The first schema: tenants, blobs, sessions and their files, applications, Serve
applications, history and its files.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _unit() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("application", sa.Text, nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("last_session", sa.Integer, nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("md5", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("application", sa.Text, nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("changed", sa.Double, nullable=False),
        sa.Column("previous_active", sa.Integer, nullable=False),
        sa.Column("prepared", sa.Text),
        sa.Column("config", sa.Text),
        sa.PrimaryKeyConstraint("tenant", "id"),
    )
    op.create_table(
        "session_files",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "session_id", "path"),
    )
    op.create_index("session_files_sha", "session_files", ["sha256"])
    op.create_table(
        "applications",
        *_unit(),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("checksum", sa.Text, nullable=False),
        sa.Column("activated", sa.Double, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "application", "instance"),
    )
    op.create_table(
        "serve_apps",
        *_unit(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("route_prefix", sa.Text),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("last_deployed", sa.Double, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "application", "instance", "name"),
    )
    op.create_table(
        "history",
        *_unit(),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("revision", sa.Text, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("rollback_of", sa.Integer),
        sa.PrimaryKeyConstraint("tenant", "application", "instance", "generation"),
    )
    op.create_table(
        "history_files",
        *_unit(),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "application", "instance", "generation", "path"),
    )
    op.create_index("history_files_sha", "history_files", ["sha256"])
