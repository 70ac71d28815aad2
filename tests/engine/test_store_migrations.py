"""The store's schema: Alembic revisions, fresh databases, and SQLite state directories
made before Alembic upgrading in place."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gitsync.engine import DeploySource, Engine, SessionStatus
from gitsync.engine.store import StoreError, migrate
from gitsync.engine.store.schema import metadata

LEGACY_DUMP = Path(__file__).parent / "data" / "legacy-v2-state.sql"


def legacy_state_dir(root: Path) -> Path:
    """A state directory as gitsync's engine left it before Alembic (schema_version 2)."""
    state = root / "legacy"
    state.mkdir()
    db = sqlite3.connect(state / "engine.sqlite3")
    db.executescript(LEGACY_DUMP.read_text())
    db.close()
    return state


def test_head_is_the_newest_migration() -> None:
    with sa.create_engine("sqlite://").connect() as conn:
        script = ScriptDirectory.from_config(migrate.alembic_config(conn))
    assert script.get_current_head() == migrate.HEAD


def test_a_fresh_store_is_stamped_at_head_and_reopens(tmp_path: Path) -> None:
    for _ in range(2):
        with Engine(tmp_path / "s"):
            pass
    db = sqlite3.connect(tmp_path / "s" / "engine.sqlite3")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.HEAD,)]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrations_from_nothing_build_the_schema_the_code_declares(
    tmp_path: Path, store_url: str | None
) -> None:
    url = store_url or f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        from alembic import command

        command.upgrade(migrate.alembic_config(conn), "head")
        conn.commit()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_a_legacy_state_dir_upgrades_in_place_and_keeps_everything(
    tmp_path: Path, config_of: Callable[..., bytes]
) -> None:
    state = legacy_state_dir(tmp_path)
    with Engine(state) as engine:
        entries = engine.history("default")
        assert [(e.generation, e.kind, e.revision) for e in entries] == [
            (4, "rollback", "rev1"),
            (3, "deploy", "rev2"),
            (2, "deploy", "rev1"),
        ]
        assert entries[0].health == "" and entries[2].meta == {"author": "ann"}
        live = engine.live()
        assert live.generation == 4
        assert live.config is not None
        assert [a["name"] for a in live.config["applications"]] == ["a"]
        code = engine.get_application_content("default", "default", "default", "code/model.py")
        assert getattr(code, "data", None) == b"print('v1')\n"
        assert engine.get_session("default", 5).status is SessionStatus.NEW
        assert engine.list_applications("team")[0].application == "svc"
        # It goes on: ids continue after the old ones, expiry and rollback work.
        result = engine.deploy_files(
            {"serve.yaml": config_of(("a", "/a"), price=5)}, source=DeploySource("rev3")
        )
        assert result.generation == 6
        assert engine.rollback("default", generation=3).generation == 7
    db = sqlite3.connect(state / "engine.sqlite3")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.HEAD,)]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "schema_version" not in tables
    db.close()
    # The upgraded schema matches the declared one, but for what SQLite cannot change in
    # place and does not matter: the type names the first schema used (REAL and BLOB,
    # the same affinity) and the nullability SQLite reports for a single TEXT primary key.
    database = sa.create_engine(f"sqlite:///{state / 'engine.sqlite3'}")
    with database.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(context, metadata)
    database.dispose()
    primary = {(t.name, c.name) for t in metadata.tables.values() for c in t.primary_key}
    assert [
        diff
        for diff in diffs
        if not (
            isinstance(diff, list) and diff[0][0] == "modify_nullable" and diff[0][2:4] in primary
        )
    ] == []


def test_an_unknown_schema_is_refused_and_the_lock_released(tmp_path: Path) -> None:
    state = legacy_state_dir(tmp_path)
    db = sqlite3.connect(state / "engine.sqlite3")
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    with pytest.raises(StoreError) as caught:
        Engine(state).open()
    assert caught.value.message == (
        f"State store '{state}' has schema version 99, which this gitsync does not know "
        "(it knows 1 to 2, then Alembic revisions)"
    )
    db.execute("DROP TABLE schema_version")
    db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    db.execute("INSERT INTO alembic_version VALUES ('9999')")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema revision 9999, which this gitsync does not know"):
        Engine(state).open()  # not LockHeld: the failed open released the lock
