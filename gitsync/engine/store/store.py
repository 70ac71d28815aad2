"""The engine's SQLite store: the only module with SQL.

WAL journal, one short transaction per operation (``BEGIN IMMEDIATE``), a durable
commit (``synchronous=FULL``) for activation and application deletion. Files are
content-addressed: ``blobs`` keyed by sha256, sessions and history refer to them by
path → sha256, so identical files across sessions are stored once. One writer
process per state directory, enforced by an exclusive ``flock`` on a lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitsync.config import package
from gitsync.engine.content import ContentChange, FileRow
from gitsync.engine.records import (
    AppId,
    DeployedApp,
    HistoryEntry,
    JsonDict,
    OtherUnitApp,
    SessionInfo,
    SessionStatus,
)
from gitsync.errors import GitsyncError, LockHeld, StoreError

DB_NAME = "engine.sqlite3"
LOCK_NAME = "engine.lock"

# Each entry migrates the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tenants (
        name TEXT PRIMARY KEY, created REAL NOT NULL, last_session INTEGER NOT NULL);
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY, md5 TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL);
    CREATE TABLE sessions (
        tenant TEXT NOT NULL, id INTEGER NOT NULL, status TEXT NOT NULL,
        application TEXT NOT NULL, instance TEXT NOT NULL,
        created REAL NOT NULL, changed REAL NOT NULL, previous_active INTEGER NOT NULL,
        prepared TEXT, config TEXT, PRIMARY KEY (tenant, id));
    CREATE TABLE session_files (
        tenant TEXT NOT NULL, session_id INTEGER NOT NULL, path TEXT NOT NULL,
        kind TEXT NOT NULL, sha256 TEXT, status TEXT NOT NULL,
        PRIMARY KEY (tenant, session_id, path));
    CREATE INDEX session_files_sha ON session_files (sha256);
    CREATE TABLE applications (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        session_id INTEGER NOT NULL, checksum TEXT NOT NULL, activated REAL NOT NULL,
        config TEXT NOT NULL, PRIMARY KEY (tenant, application, instance));
    CREATE TABLE serve_apps (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        name TEXT NOT NULL, route_prefix TEXT, config TEXT NOT NULL, digest TEXT NOT NULL,
        last_deployed REAL NOT NULL, generation INTEGER NOT NULL,
        PRIMARY KEY (tenant, application, instance, name));
    CREATE TABLE history (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        generation INTEGER NOT NULL, session_id INTEGER NOT NULL, time REAL NOT NULL,
        kind TEXT NOT NULL, revision TEXT NOT NULL, meta TEXT NOT NULL, summary TEXT NOT NULL,
        rollback_of INTEGER, PRIMARY KEY (tenant, application, instance, generation));
    CREATE TABLE history_files (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        generation INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
        PRIMARY KEY (tenant, application, instance, generation, path));
    CREATE INDEX history_files_sha ON history_files (sha256);
    """,
    # The health gate's verdict per generation (the Ray runtime).
    """
    ALTER TABLE history ADD COLUMN health TEXT NOT NULL DEFAULT '';
    ALTER TABLE history ADD COLUMN health_message TEXT NOT NULL DEFAULT '';
    """,
)


@dataclass(frozen=True, slots=True)
class AppRow:
    app: AppId
    session_id: int
    checksum: str
    activated: float
    config_json: str


@dataclass
class Activation:
    """Everything one activation writes, in one durable transaction. The deploy config
    itself is copied from the session row; ``app_configs`` are read only for the Serve
    applications whose digest changed."""

    app: AppId
    session_id: int
    previous_session: int | None
    now: float
    digests: Mapping[str, str]
    route_prefixes: Mapping[str, str | None]
    app_configs: Mapping[str, JsonDict]
    checksum: str
    kind: str
    revision: str
    summary: dict[str, int]
    meta: dict[str, str] = field(default_factory=dict)
    rollback_of: int | None = None
    health: str = ""  # "pending" when a managed runtime will gate this generation


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class Store:
    """The engine's durable state in one directory: tenants, sessions and their files,
    active applications, history. Every method is one short transaction or read;
    every SQLite failure leaves as a StoreError. Callers serialise access (the
    engine's lock); ``open`` takes the directory's writer lock for this process.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        # Committed write transactions so far: this process is the only writer (the
        # lock file), so an unchanged count means unchanged state (readers cache on it).
        self.writes = 0

    # -- lifecycle -----------------------------------------------------------------------

    def open(self, now: float) -> None:
        lock_path = self.state_dir / LOCK_NAME
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"Cannot open the state store in '{self.state_dir}': {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise LockHeld(
                f"State directory '{self.state_dir}' is in use by another gitsync engine "
                f"(lock file '{lock_path}' is held)"
            ) from exc
        self._lock_fd = fd
        try:
            db = sqlite3.connect(
                self.state_dir / DB_NAME, isolation_level=None, check_same_thread=False
            )
            self._db = db
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            with self._tx() as cur:
                cur.execute("INSERT OR IGNORE INTO tenants VALUES ('default', ?, 1)", (now,))
        except (sqlite3.Error, GitsyncError) as exc:
            self.close()
            if isinstance(exc, GitsyncError):
                raise
            raise StoreError(f"Cannot open the state store in '{self.state_dir}': {exc}") from exc

    def close(self) -> None:
        db, self._db = self._db, None
        try:
            if db is not None:
                db.close()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot close the state store in '{self.state_dir}': {exc}") from exc
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _migrate(self) -> None:
        with self._tx() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = cur.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if row is None:
                cur.execute("INSERT INTO schema_version VALUES (0)")
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"State store '{self.state_dir}' has schema version {version}, newer than "
                    f"this gitsync understands ({len(MIGRATIONS)})"
                )
            for script in MIGRATIONS[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        cur.execute(statement)
            cur.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))

    @contextlib.contextmanager
    def _tx(self, durable: bool = False) -> Iterator[sqlite3.Cursor]:
        """One short write transaction; ``durable`` fsyncs the WAL on commit."""
        if self._db is None:
            raise StoreError("The state store is not open")
        db = self._db
        try:
            if durable:
                db.execute("PRAGMA synchronous=FULL")
            cur = db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self.writes += 1
        except sqlite3.Error as exc:
            raise StoreError(f"State store failure in '{self.state_dir}': {exc}") from exc
        finally:
            if durable and not db.in_transaction:
                self._restore_normal_sync(db)

    def _restore_normal_sync(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"State store failure in '{self.state_dir}': {exc}") from exc

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        if self._db is None:
            raise StoreError("The state store is not open")
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"State store failure in '{self.state_dir}': {exc}") from exc

    # -- tenants ----------------------------------------------------------------------------

    def list_tenants(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM tenants ORDER BY name")]

    def tenant_exists(self, tenant: str) -> bool:
        return bool(self._read("SELECT 1 FROM tenants WHERE name = ?", (tenant,)))

    def create_tenant(self, tenant: str, now: float) -> bool:
        with self._tx() as cur:
            cur.execute("INSERT OR IGNORE INTO tenants VALUES (?, ?, 1)", (tenant, now))
            return cur.rowcount == 1

    def delete_tenant(self, tenant: str) -> None:
        with self._tx() as cur:
            for table in ("sessions", "tenants"):
                column = "name" if table == "tenants" else "tenant"
                cur.execute(f"DELETE FROM {table} WHERE {column} = ?", (tenant,))
            for table in ("session_files", "applications", "serve_apps", "history"):
                cur.execute(f"DELETE FROM {table} WHERE tenant = ?", (tenant,))
            cur.execute("DELETE FROM history_files WHERE tenant = ?", (tenant,))

    # -- sessions ---------------------------------------------------------------------------

    def create_session(
        self,
        app: AppId,
        now: float,
        previous_active: int,
        *,
        files: Mapping[str, bytes] | None = None,
        copy_from: tuple[str, int] | None = None,
        copy_from_history: int | None = None,
    ) -> int:
        """A NEW session with the next id of the tenant (the first is 2)."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE tenants SET last_session = last_session + 1 WHERE name = ? "
                "RETURNING last_session",
                (app.tenant,),
            )
            session_id = int(cur.fetchone()[0])
            cur.execute(
                "INSERT INTO sessions VALUES (?, ?, 'NEW', ?, ?, ?, ?, ?, NULL, NULL)",
                (app.tenant, session_id, app.application, app.instance, now, now, previous_active),
            )
            if files is not None:
                rows = []
                for path, data in files.items():
                    rows.append((app.tenant, session_id, path, "file", self._put_blob(cur, data)))
                cur.executemany("INSERT INTO session_files VALUES (?, ?, ?, ?, ?, 'new')", rows)
            if copy_from is not None:
                cur.execute(
                    "INSERT INTO session_files SELECT ?, ?, path, kind, sha256, 'new' "
                    "FROM session_files WHERE tenant = ? AND session_id = ? "
                    "AND status != 'deleted'",
                    (app.tenant, session_id, *copy_from),
                )
            if copy_from_history is not None:
                cur.execute(
                    "INSERT INTO session_files SELECT ?, ?, path, 'file', sha256, 'new' "
                    "FROM history_files WHERE tenant = ? AND application = ? AND instance = ? "
                    "AND generation = ?",
                    (
                        app.tenant,
                        session_id,
                        app.tenant,
                        app.application,
                        app.instance,
                        copy_from_history,
                    ),
                )
            return session_id

    @staticmethod
    def _put_blob(cur: sqlite3.Cursor, data: bytes) -> str:
        sha = package.sha256_hex(data)
        cur.execute(
            "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?)",
            (sha, package.md5_hex(data), len(data), data),
        )
        return sha

    def get_session(self, tenant: str, session_id: int) -> SessionInfo | None:
        rows = self._read(
            "SELECT status, application, instance, created, changed, previous_active "
            "FROM sessions WHERE tenant = ? AND id = ?",
            (tenant, session_id),
        )
        if not rows:
            return None
        status, application, instance, created, changed, previous = rows[0]
        return SessionInfo(
            tenant,
            session_id,
            SessionStatus(status),
            AppId(tenant, application, instance),
            created,
            changed,
            previous,
        )

    def session_files(self, tenant: str, session_id: int) -> list[FileRow]:
        rows = self._read(
            "SELECT f.path, f.kind, f.sha256, COALESCE(b.md5, ''), f.status "
            "FROM session_files f LEFT JOIN blobs b ON b.sha256 = f.sha256 "
            "WHERE f.tenant = ? AND f.session_id = ? ORDER BY f.path",
            (tenant, session_id),
        )
        return [FileRow(*row) for row in rows]

    def session_file_sizes(self, tenant: str, session_id: int) -> dict[str, int]:
        """Size of every live file of a session (deleted ones left out)."""
        rows = self._read(
            "SELECT f.path, b.size FROM session_files f JOIN blobs b ON b.sha256 = f.sha256 "
            "WHERE f.tenant = ? AND f.session_id = ? AND f.kind = 'file' "
            "AND f.status != 'deleted'",
            (tenant, session_id),
        )
        return {path: int(size) for path, size in rows}

    def session_file_data(self, tenant: str, session_id: int) -> dict[str, bytes]:
        rows = self._read(
            "SELECT f.path, b.data FROM session_files f JOIN blobs b ON b.sha256 = f.sha256 "
            "WHERE f.tenant = ? AND f.session_id = ? AND f.kind = 'file' "
            "AND f.status != 'deleted'",
            (tenant, session_id),
        )
        return {path: bytes(data) for path, data in rows}

    def read_blob(self, sha256: str) -> bytes:
        rows = self._read("SELECT data FROM blobs WHERE sha256 = ?", (sha256,))
        if not rows:
            raise StoreError(f"State store '{self.state_dir}' lost blob {sha256}")
        return bytes(rows[0][0])

    def blob_count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM blobs")[0][0])

    def apply_content_change(
        self, tenant: str, session_id: int, change: ContentChange, now: float
    ) -> None:
        """Apply a content PUT/DELETE and reset the session to NEW, atomically."""
        key = (tenant, session_id)
        with self._tx() as cur:
            for path, data, status in change.writes:
                sha = self._put_blob(cur, data)
                cur.execute(
                    "INSERT OR REPLACE INTO session_files VALUES (?, ?, ?, 'file', ?, ?)",
                    (*key, path, sha, status),
                )
            for path in change.mkdirs:
                cur.execute(
                    "INSERT OR REPLACE INTO session_files VALUES (?, ?, ?, 'dir', NULL, 'new')",
                    (*key, path),
                )
            for path in change.deletes:
                cur.execute(
                    "UPDATE session_files SET sha256 = NULL, status = 'deleted' "
                    "WHERE tenant = ? AND session_id = ? AND path = ?",
                    (*key, path),
                )
            for path in change.rmdirs:
                cur.execute(
                    "DELETE FROM session_files WHERE tenant = ? AND session_id = ? AND path = ?",
                    (*key, path),
                )
            cur.execute(
                "UPDATE sessions SET status = 'NEW', changed = ?, prepared = NULL, config = NULL "
                "WHERE tenant = ? AND id = ?",
                (now, *key),
            )

    def save_prepared(
        self,
        tenant: str,
        session_id: int,
        app: AppId,
        prepared: JsonDict,
        config: JsonDict,
        now: float,
    ) -> None:
        """Record a prepare: the session becomes PREPARED for ``app``. The deploy config is
        kept serialised on its own, so activation copies it without decoding it."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE sessions SET status = 'PREPARED', application = ?, instance = ?, "
                "prepared = ?, config = ?, changed = ? WHERE tenant = ? AND id = ?",
                (
                    app.application,
                    app.instance,
                    _dumps(prepared),
                    _dumps(config),
                    now,
                    tenant,
                    session_id,
                ),
            )

    def prepared_json(self, tenant: str, session_id: int) -> JsonDict | None:
        """The prepare record of a session with its ``config``; None if not prepared."""
        rows = self._read(
            "SELECT prepared, config FROM sessions WHERE tenant = ? AND id = ?",
            (tenant, session_id),
        )
        if not rows or rows[0][0] is None:
            return None
        value: JsonDict = json.loads(rows[0][0])
        value["config"] = json.loads(rows[0][1])
        return value

    def prepared_plan_text(self, tenant: str, session_id: int) -> str | None:
        """The plan text of a session's prepare record, without decoding the record."""
        rows = self._read(
            "SELECT json_extract(prepared, '$.plan_text') FROM sessions "
            "WHERE tenant = ? AND id = ?",
            (tenant, session_id),
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    def delete_session(self, tenant: str, session_id: int) -> None:
        """Remove a session and its file rows (a failed prepare); blobs go at expiry."""
        with self._tx() as cur:
            cur.execute("DELETE FROM sessions WHERE tenant = ? AND id = ?", (tenant, session_id))
            cur.execute(
                "DELETE FROM session_files WHERE tenant = ? AND session_id = ?",
                (tenant, session_id),
            )

    # -- applications and activation -----------------------------------------------------------

    def _app_rows(self, where: str, args: tuple[Any, ...]) -> list[AppRow]:
        rows = self._read(
            "SELECT tenant, application, instance, session_id, checksum, activated, config "
            f"FROM applications WHERE {where} ORDER BY application, instance",
            args,
        )
        return [AppRow(AppId(t, a, i), sid, c, act, cfg) for t, a, i, sid, c, act, cfg in rows]

    def get_application(self, app: AppId) -> AppRow | None:
        rows = self._app_rows(
            "tenant = ? AND application = ? AND instance = ?",
            (app.tenant, app.application, app.instance),
        )
        return rows[0] if rows else None

    def active_session_id(self, app: AppId) -> int | None:
        rows = self._read(
            "SELECT session_id FROM applications "
            "WHERE tenant = ? AND application = ? AND instance = ?",
            (app.tenant, app.application, app.instance),
        )
        return int(rows[0][0]) if rows else None

    def session_counts(self) -> dict[tuple[str, str], int]:
        """(tenant, status) -> number of sessions, for the ``gitsync_sessions`` gauge."""
        rows = self._read(
            "SELECT tenant, status, COUNT(*) FROM sessions GROUP BY tenant, status", ()
        )
        return {(str(tenant), str(status)): int(count) for tenant, status, count in rows}

    def list_applications(self, tenant: str) -> list[AppRow]:
        return self._app_rows("tenant = ?", (tenant,))

    def serve_apps_of_tenant(self, tenant: str, exclude: AppId) -> list[OtherUnitApp]:
        rows = self._read(
            "SELECT application, instance, name, route_prefix FROM serve_apps "
            "WHERE tenant = ? AND NOT (application = ? AND instance = ?)",
            (tenant, exclude.application, exclude.instance),
        )
        return [OtherUnitApp(AppId(tenant, a, i), n, rp) for a, i, n, rp in rows]

    def deployed_apps(self, app: AppId) -> list[DeployedApp]:
        rows = self._read(
            "SELECT name, route_prefix, config, last_deployed, generation FROM serve_apps "
            "WHERE tenant = ? AND application = ? AND instance = ? ORDER BY name",
            (app.tenant, app.application, app.instance),
        )
        return [DeployedApp(n, rp, json.loads(cfg), t, g) for n, rp, cfg, t, g in rows]

    def activate(self, act: Activation) -> None:
        """The activation transaction (durable): all of it or none of it."""
        unit = (act.app.tenant, act.app.application, act.app.instance)
        with self._tx(durable=True) as cur:
            if act.previous_session is not None and act.previous_session != act.session_id:
                cur.execute(
                    "UPDATE sessions SET status = 'DEACTIVATED', changed = ? "
                    "WHERE tenant = ? AND id = ?",
                    (act.now, act.app.tenant, act.previous_session),
                )
            cur.execute(
                "UPDATE sessions SET status = 'ACTIVE', changed = ? WHERE tenant = ? AND id = ?",
                (act.now, act.app.tenant, act.session_id),
            )
            cur.execute(
                "INSERT OR REPLACE INTO applications "
                "SELECT ?, ?, ?, ?, ?, ?, config FROM sessions WHERE tenant = ? AND id = ?",
                (*unit, act.session_id, act.checksum, act.now, act.app.tenant, act.session_id),
            )
            existing = dict(
                cur.execute(
                    "SELECT name, digest FROM serve_apps "
                    "WHERE tenant = ? AND application = ? AND instance = ?",
                    unit,
                ).fetchall()
            )
            cur.executemany(
                "DELETE FROM serve_apps "
                "WHERE tenant = ? AND application = ? AND instance = ? AND name = ?",
                [(*unit, name) for name in existing.keys() - act.digests.keys()],
            )
            changed = [name for name, digest in act.digests.items() if existing.get(name) != digest]
            cur.executemany(
                "INSERT OR REPLACE INTO serve_apps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        *unit,
                        name,
                        act.route_prefixes.get(name),
                        _dumps(act.app_configs[name]),
                        act.digests[name],
                        act.now,
                        act.session_id,
                    )
                    for name in changed
                ],
            )
            cur.execute(
                "INSERT OR REPLACE INTO history (tenant, application, instance, generation, "
                "session_id, time, kind, revision, meta, summary, rollback_of, health) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *unit,
                    act.session_id,
                    act.session_id,
                    act.now,
                    act.kind,
                    act.revision,
                    _dumps(act.meta),
                    _dumps(act.summary),
                    act.rollback_of,
                    act.health,
                ),
            )
            if act.health:
                cur.execute(
                    "UPDATE history SET health = 'superseded' WHERE tenant = ? AND "
                    "application = ? AND instance = ? AND generation < ? AND health = 'pending'",
                    (*unit, act.session_id),
                )
            cur.execute(
                "INSERT OR REPLACE INTO history_files SELECT ?, ?, ?, ?, path, sha256 "
                "FROM session_files WHERE tenant = ? AND session_id = ? AND kind = 'file' "
                "AND status != 'deleted'",
                (*unit, act.session_id, act.app.tenant, act.session_id),
            )

    def delete_application(self, app: AppId, now: float) -> None:
        unit = (app.tenant, app.application, app.instance)
        with self._tx(durable=True) as cur:
            cur.execute(
                "UPDATE sessions SET status = 'DELETED', changed = ? WHERE tenant = ? AND id = "
                "(SELECT session_id FROM applications "
                "WHERE tenant = ? AND application = ? AND instance = ?)",
                (now, app.tenant, *unit),
            )
            for table in ("applications", "serve_apps"):
                cur.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND application = ? AND instance = ?",
                    unit,
                )

    # -- history and expiry --------------------------------------------------------------------

    def history(self, app: AppId) -> list[HistoryEntry]:
        rows = self._read(
            "SELECT generation, session_id, time, kind, revision, meta, summary, rollback_of, "
            "health, health_message FROM history "
            "WHERE tenant = ? AND application = ? AND instance = ? ORDER BY generation DESC",
            (app.tenant, app.application, app.instance),
        )
        return [
            HistoryEntry(app, g, s, t, k, r, json.loads(m), json.loads(su), rb, h, hm)
            for g, s, t, k, r, m, su, rb, h, hm in rows
        ]

    def history_file_data(self, app: AppId, generation: int) -> dict[str, bytes]:
        """The package files a generation activated (kept after its session expires)."""
        rows = self._read(
            "SELECT h.path, b.data FROM history_files h JOIN blobs b ON b.sha256 = h.sha256 "
            "WHERE h.tenant = ? AND h.application = ? AND h.instance = ? AND h.generation = ?",
            (app.tenant, app.application, app.instance, generation),
        )
        return {path: bytes(data) for path, data in rows}

    def set_health(self, app: AppId, generation: int, health: str, message: str) -> None:
        """Record the health gate's verdict on one generation."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE history SET health = ?, health_message = ? WHERE tenant = ? AND "
                "application = ? AND instance = ? AND generation = ?",
                (health, message, app.tenant, app.application, app.instance, generation),
            )

    def expire(self, now: float, lifetime: float) -> list[tuple[str, int]]:
        """Delete sessions that are not active and outlived ``lifetime``; then drop blobs
        that no session and no history record refers to."""
        with self._tx() as cur:
            expired = cur.execute(
                "SELECT tenant, id FROM sessions s WHERE MAX(created, changed) + ? < ? "
                "AND NOT EXISTS (SELECT 1 FROM applications a "
                "WHERE a.tenant = s.tenant AND a.session_id = s.id) ORDER BY tenant, id",
                (lifetime, now),
            ).fetchall()
            for tenant, session_id in expired:
                cur.execute(
                    "DELETE FROM sessions WHERE tenant = ? AND id = ?", (tenant, session_id)
                )
                cur.execute(
                    "DELETE FROM session_files WHERE tenant = ? AND session_id = ?",
                    (tenant, session_id),
                )
            cur.execute(
                "DELETE FROM blobs WHERE NOT EXISTS "
                "(SELECT 1 FROM session_files f WHERE f.sha256 = blobs.sha256) "
                "AND NOT EXISTS (SELECT 1 FROM history_files h WHERE h.sha256 = blobs.sha256)"
            )
            return [(str(t), int(s)) for t, s in expired]
