"""``gitsync store migrate --from DIR --to postgresql://…``: an embedded state directory
(here one made by the engine before Alembic) moves into PostgreSQL whole."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitsync.engine import Engine, SessionStatus
from tests.engine.test_store_migrations import legacy_state_dir
from tests.testing.configs import serve_yaml
from tests.testing.postgres import PostgresServer
from tests.testing.tools import gitsync_command


def migrate(source: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gitsync_command("store", "migrate", "--from", str(source), "--to", url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_state_dir_moves_into_postgresql_whole(tmp_path: Path, postgres: PostgresServer) -> None:
    state = legacy_state_dir(tmp_path)
    url = postgres.create_database()
    done = migrate(state, url)
    assert done.returncode == 0, done.stderr
    assert "Copied" in done.stdout and "4 history" in done.stdout
    with Engine(tmp_path / "pg-engine", store=url) as engine, Engine(state) as original:
        for tenant, unit in (("default", "default"), ("team", "svc")):
            assert engine.history(tenant, unit) == original.history(tenant, unit)
            assert engine.live(tenant, unit).config == original.live(tenant, unit).config
        code = engine.get_application_content("default", "default", "default", "code/model.py")
        assert getattr(code, "data", None) == b"print('v1')\n"
        assert engine.get_session("default", 5).status is SessionStatus.NEW
        # It goes on where the directory stopped: ids continue.
        result = engine.deploy_files({"serve.yaml": serve_yaml(("a", "/a"), price=9)})
        assert result.generation == 6
    # A second copy into the now non-empty database is refused; nothing changes.
    again = migrate(state, url)
    assert again.returncode == 2
    assert "already holds state: copy only into a new, empty one" in again.stderr
    with Engine(tmp_path / "pg-engine2", store=url) as engine:
        assert engine.history("default")[0].generation == 6


def test_a_directory_without_state_is_refused(tmp_path: Path, postgres: PostgresServer) -> None:
    done = migrate(tmp_path / "nothing", postgres.create_database())
    assert done.returncode != 0
    assert f"No gitsync state in '{tmp_path / 'nothing'}'" in done.stderr
