"""Alembic migrations of the engine's store (script_location of gitsync.engine.store.migrate)."""
