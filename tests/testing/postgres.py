"""A private PostgreSQL server for the tests: Debian's ``postgresql`` package, one
data directory in /tmp, loopback only, as the ``postgres`` user when we are root (the
server refuses to run as root). The fixtures: ``postgres`` (one server per run) and
``store_url`` (each test twice: SQLite, then a fresh PostgreSQL database).
``python -m tests.testing.postgres`` runs one until Ctrl-C (for bench/ and by hand)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.testing.wait import free_port


def _runuser() -> str:
    """runuser lives in /usr/sbin, which a minimal PATH (env -i, some CI shells) leaves out."""
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("runuser not found: PostgreSQL refuses to run as root without it")


def bindir() -> Path:
    """Where initdb/postgres/pg_isready are: $GITSYNC_PG_BINDIR, PATH, pg_config, or
    Debian's versioned directory."""
    if os.environ.get("GITSYNC_PG_BINDIR"):
        return Path(os.environ["GITSYNC_PG_BINDIR"])
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install -y postgresql (scripts/test.sh does)"
        )
    return Path(versions[-1]).parent


class PostgresServer:
    def __init__(self, fsync: bool = False) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="gitsync-pg-"))
        self.root.chmod(0o777)
        self.data = self.root / "data"
        self.port = free_port()
        self.fsync = fsync
        self._as_user = [_runuser(), "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._process: subprocess.Popen[bytes] | None = None
        self._databases = 0

    def start(self) -> PostgresServer:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> PostgresServer:
        if not self.data.exists():
            subprocess.run(
                [*self._as_user, str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust"]
                + ["-U", "postgres", "--no-sync"],
                check=True,
                capture_output=True,
                timeout=120,
            )
        args = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        args += ["-k", str(self.root), "-h", "127.0.0.1", "-c", "max_connections=200"]
        if not self.fsync:
            args += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        log = open(self.root / "server.log", "ab")  # noqa: SIM115  (the server keeps it)
        self._process = subprocess.Popen([*self._as_user, *args], stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return self
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: see {self.root / 'server.log'}")
            time.sleep(0.1)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Fast shutdown: SIGINT to the postmaster itself (runuser passes no signals)."""
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        if self._process is not None:
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                if pid is not None:
                    os.kill(pid, signal.SIGQUIT)
                self._process.wait(timeout=30)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "gitsync") -> str:
        """A new empty database; its URL."""
        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole run (started on first use)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(params=["sqlite", "sqlite-sqlalchemy", "postgresql"])
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The engine's store, each test three times: None (embedded SQLite in the state
    directory) on sqlite3 with compiled plans, the same through SQLAlchemy, and a fresh
    database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return None
    if request.param == "sqlite-sqlalchemy":
        from gitsync.engine.store import store

        monkeypatch.setattr(store, "COMPILED_SQLITE", False)
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


if __name__ == "__main__":
    server = PostgresServer(fsync="--no-fsync" not in sys.argv).start()
    print(server.create_database("bench"), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.remove()
