"""What several engines on one database need: a state version every engine reads,
named leases with a TTL, and the generation last handed to the runtime per unit.
The hand-rolled ``schema_version`` table of the first SQLite stores goes (Alembic's
``alembic_version`` replaces it).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    version = op.create_table(
        "state_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("info", sa.Text, nullable=False, server_default=""),
        sa.Column("expires", sa.Double, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "runtime_sent",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("application", sa.Text, nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "application", "instance"),
    )
    op.execute("DROP TABLE IF EXISTS schema_version")
