"""The health gate's verdict per generation (the Ray runtime).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("history", sa.Column("health", sa.Text, nullable=False, server_default=""))
    op.add_column(
        "history", sa.Column("health_message", sa.Text, nullable=False, server_default="")
    )
