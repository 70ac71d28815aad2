"""Which lease epoch handed each unit's generation to the runtime: the engine that
drives Ray records it before it sends, under its lease, so a new driver resumes
from there.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "runtime_sent", sa.Column("epoch", sa.BigInteger, nullable=False, server_default="0")
    )
