"""Alembic's entry point: migrations always run on the store's own connection, inside
the transaction the store opened (see gitsync.engine.store.migrate)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
