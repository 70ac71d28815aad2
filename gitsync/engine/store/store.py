"""The engine's store: the only place with SQL (SQLAlchemy Core, one text for SQLite
and PostgreSQL).

One short transaction per operation. Every write transaction first bumps the one-row
``state_version``: on PostgreSQL that row lock serialises the writers of all engines
(as SQLite's ``BEGIN IMMEDIATE`` does for one), so each write sees every earlier one
and readers can tell in one read whether anything changed. Activation and application
deletion commit durably. Files are content-addressed: ``blobs`` keyed by sha256,
sessions and history refer to them by path -> sha256.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitsync.config import package
from gitsync.config.collector import freeze_long_lived
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
from gitsync.engine.store.connect import DirLock, StoreError, StoreLocation
from gitsync.engine.store.database import NAMES, Database, Executor
from gitsync.engine.store.known import Known
from gitsync.errors import ActivationConflict, BadRequest

#: The embedded SQLite store runs on sqlite3 with compiled plans (sqlite_db.py); False
#: drives it through SQLAlchemy as a shared store is (the store's tests run both ways).
COMPILED_SQLITE = True


class StaleActivation(ActivationConflict):
    """The application's active session or the session changed between the engine's
    check and the activation's write (another engine wrote): the engine checks again;
    a 409 if it still is after the last attempt."""


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
    itself is copied from the session row; ``app_configs`` gives the entries of the
    Serve applications whose digest changed, by name (only those: most activations
    change one application of many)."""

    app: AppId
    session_id: int
    previous_session: int | None
    now: float
    digests: Mapping[str, str]
    route_prefixes: Mapping[str, str | None]
    app_configs: Callable[[Collection[str]], Mapping[str, JsonDict]]
    checksum: str
    kind: str
    revision: str
    summary: dict[str, int]
    meta: dict[str, str] = field(default_factory=dict)
    rollback_of: int | None = None
    health: str = ""  # "pending" when a managed runtime will gate this generation
    # The session's ``changed`` stamp as the engine checked it: a session re-prepared
    # since (by another engine) is not activated on the strength of that check.
    session_changed: float = 0.0


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # built once, not per value


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


class Store:
    """The engine's durable state: tenants, sessions and their files, active
    applications, history, leases. Every method is one short transaction or read;
    every database failure leaves as a StoreError (StoreUnavailable when the database
    cannot be reached). ``open`` takes a SQLite directory's writer lock."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self._dir_lock = DirLock(location.state_dir) if location.state_dir else None
        # One connection per engine process: its users take turns.
        self._mutex = threading.RLock()
        self._sql = NAMES  # statements by name: the database builds or loads them
        self._db: Database | None = None
        self._writes = 0  # committed write transactions of this process
        self._known = Known()  # a shared store's guesses (known.py)

    # -- lifecycle -----------------------------------------------------------------------

    def open(self, now: float) -> None:
        if self._dir_lock is not None:
            self._dir_lock.acquire()
        try:
            with self._mutex:
                self._db = _database(self.location)
                self._db.open()
            with self._tx() as conn:
                conn.execute(self._sql.add_tenant, _p(dict(name="default", created=now)))
        except BaseException:
            self.close()
            raise
        freeze_long_lived()

    def close(self) -> None:
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None
        if self._dir_lock is not None:
            self._dir_lock.release()

    @contextlib.contextmanager
    def _tx(self, durable: bool = False, bump: bool = True) -> Iterator[Executor]:
        """One write transaction. ``bump`` first takes the state version's row lock
        (serialising writers); ``durable`` fsyncs SQLite's WAL on commit."""
        with self._mutex:
            with self._database().transaction(durable) as conn:
                if bump:
                    conn.execute(self._sql.bump)
                yield conn
            if bump:
                self._writes += 1

    def _write_alone(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        """One data-modifying statement that is a whole write transaction."""
        with self._mutex:
            rows = self._database().write_alone(statement, params)
            self._writes += 1
            return rows

    def _rows(self, statement: Any, **params: Any) -> list[Any]:
        """One read in autocommit mode: no BEGIN/COMMIT round trips, and it sees every
        write committed before it (by this engine or another)."""
        with self._mutex:
            return self._database().read(statement, _p(params))

    def _database(self) -> Database:
        if self._db is None:
            raise StoreError("The state store is not open")
        return self._db

    def version(self) -> int:
        """The state version: equal versions mean equal state, in every engine. SQLite
        has one writer, this process, so its count needs no read."""
        if not self.location.shared:
            return self._writes
        return int(self._rows(self._sql.version)[0][0])

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers now (on both connections,
        so a health check also replaces connections an outage broke)."""
        self._rows(self._sql.ping)
        with self._tx(bump=False) as conn:
            conn.execute(self._sql.ping)

    def sqlite_connection(self) -> Any:
        """The raw sqlite3 connection (crash tests trace its statements)."""
        with self._mutex:
            return self._database().sqlite_connection()

    # -- tenants ----------------------------------------------------------------------------

    def list_tenants(self) -> list[str]:
        return [r[0] for r in self._rows(self._sql.tenant_names)]

    def tenant_exists(self, tenant: str) -> bool:
        return bool(self._rows(self._sql.tenant_exists, name=tenant))

    def create_tenant(self, tenant: str, now: float) -> bool:
        with self._tx() as conn:
            added = conn.execute(self._sql.add_tenant, _p(dict(name=tenant, created=now)))
            return added.first() is not None

    def delete_tenant(self, tenant: str) -> None:
        from gitsync.engine.store.schema import (
            applications,
            history,
            history_files,
            runtime_sent,
            serve_apps,
            session_files,
            sessions,
            tenants,
        )

        self._known.forget_tenant(tenant)
        with self._tx() as conn:
            conn.execute(tenants.delete().where(tenants.c.name == tenant))
            for table in (sessions, session_files, applications, serve_apps, history):
                conn.execute(table.delete().where(table.c.tenant == tenant))
            for table in (history_files, runtime_sent):
                conn.execute(table.delete().where(table.c.tenant == tenant))

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
        sql = self._sql
        if self.location.shared and copy_from is None and copy_from_history is None:
            session_id = self._create_session_alone(app, now, previous_active, files or {})
            info = SessionInfo(
                app.tenant, session_id, SessionStatus.NEW, app, now, now, previous_active
            )
            self._known.created(info)
            return session_id
        with self._tx() as conn:
            session_id = int(
                conn.execute(sql.next_session_id, _p(dict(name=app.tenant))).scalar_one()
            )
            unit = _unit(app)
            conn.execute(
                sql.add_session, _p(dict(unit, sid=session_id, now=now, previous=previous_active))
            )
            if files:
                rows = [
                    dict(
                        tenant=app.tenant,
                        session_id=session_id,
                        path=path,
                        kind="file",
                        sha256=self._put_blob(conn, data),
                        status="new",
                    )
                    for path, data in files.items()
                ]
                conn.execute(sql.add_session_files, rows)
            if copy_from is not None:
                conn.execute(
                    sql.copy_session_files,
                    _p(
                        dict(
                            tenant=app.tenant,
                            sid=session_id,
                            from_tenant=copy_from[0],
                            from_sid=copy_from[1],
                        )
                    ),
                )
            if copy_from_history is not None:
                conn.execute(
                    sql.copy_history_files,
                    _p(dict(unit, sid=session_id, generation=copy_from_history)),
                )
        if self.location.shared:
            status = SessionStatus.NEW
            info = SessionInfo(app.tenant, session_id, status, app, now, now, previous_active)
            self._known.created(info)
        return session_id

    def _create_session_alone(
        self, app: AppId, now: float, previous_active: int, files: Mapping[str, bytes]
    ) -> int:
        """PostgreSQL: the session, its files and their blobs in one statement."""
        shas = [package.sha256_hex(data) for data in files.values()]
        contents = dict(zip(shas, files.values(), strict=True))  # each content once
        params = dict(
            _unit(app),
            now=now,
            previous=previous_active,
            paths=list(files),
            shas=shas,
            blob_shas=list(contents),
            md5s=[package.md5_hex(data) for data in contents.values()],
            sizes=[len(data) for data in contents.values()],
            datas=list(contents.values()),
        )
        rows = self._write_alone(self._sql.session_with_files, _p(params))
        if not rows:
            raise StoreError(f"No tenant '{app.tenant}' in the state store")
        return int(rows[0][0])

    def _put_blob(self, conn: Executor, data: bytes) -> str:
        sha = package.sha256_hex(data)
        conn.execute(
            self._sql.add_blob,
            dict(sha256=sha, md5=package.md5_hex(data), size=len(data), data=data),
        )
        return sha

    def get_session(self, tenant: str, session_id: int) -> SessionInfo | None:
        rows = self._rows(self._sql.session, tenant=tenant, sid=session_id)
        return _session_info(tenant, session_id, rows[0]) if rows else None

    def session_files(self, tenant: str, session_id: int) -> list[FileRow]:
        rows = self._rows(self._sql.session_files, tenant=tenant, sid=session_id)
        return [FileRow(*row) for row in rows]

    def session_file_sizes(self, tenant: str, session_id: int) -> dict[str, int]:
        """Size of every live file of a session (deleted ones left out)."""
        rows = self._rows(self._sql.session_file_sizes, tenant=tenant, sid=session_id)
        return {path: int(size) for path, size in rows}

    def session_file_data(self, tenant: str, session_id: int) -> dict[str, bytes]:
        rows = self._rows(self._sql.session_file_data, tenant=tenant, sid=session_id)
        return {path: bytes(data) for path, data in rows}

    def read_blob(self, sha256: str) -> bytes:
        rows = self._rows(self._sql.blob, sha=sha256)
        if not rows:
            raise StoreError(f"State store '{self.location.describe()}' lost blob {sha256}")
        return bytes(rows[0][0])

    def blob_count(self) -> int:
        return int(self._rows(self._sql.blob_count)[0][0])

    def apply_content_change(
        self, tenant: str, session_id: int, change: ContentChange, now: float
    ) -> None:
        """Apply a content PUT/DELETE and reset the session to NEW, atomically."""
        sql = self._sql
        key = dict(tenant=tenant, session_id=session_id)
        ids = dict(tenant=tenant, sid=session_id)
        self._known.forget(tenant, session_id)
        with self._tx() as conn:
            for path, data, status in change.writes:
                sha = self._put_blob(conn, data)
                conn.execute(
                    sql.put_session_file,
                    dict(key, path=path, kind="file", sha256=sha, status=status),
                )
            for path in change.mkdirs:
                conn.execute(
                    sql.put_session_file,
                    dict(key, path=path, kind="dir", sha256=None, status="new"),
                )
            for path in change.deletes:
                conn.execute(sql.delete_session_file, _p(dict(ids, path=path)))
            for path in change.rmdirs:
                conn.execute(sql.remove_session_file, _p(dict(ids, path=path)))
            conn.execute(sql.reset_session, _p(dict(ids, now=now)))

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
        params = _p(
            dict(
                tenant=tenant,
                sid=session_id,
                application=app.application,
                instance=app.instance,
                prepared=_dumps(prepared),
                config=_dumps(config),
                now=now,
            )
        )
        if self.location.shared:
            self._write_alone(self._sql.save_prepared_alone, params)
        else:
            with self._tx() as conn:
                conn.execute(self._sql.save_prepared, params)
        self._known.prepared(tenant, session_id, app, now)

    def prepared_json(self, tenant: str, session_id: int) -> JsonDict | None:
        """The prepare record of a session with its ``config``; None if not prepared."""
        rows = self._rows(self._sql.prepared, tenant=tenant, sid=session_id)
        if not rows or rows[0][0] is None:
            return None
        value: JsonDict = json.loads(rows[0][0])
        value["config"] = json.loads(rows[0][1])
        return value

    def prepared_plan_text(self, tenant: str, session_id: int) -> str | None:
        """The plan text of a session's prepare record, without decoding the record."""
        rows = self._rows(self._sql.prepared_plan_text, tenant=tenant, sid=session_id)
        return str(rows[0][0]) if rows and rows[0][0] else None

    def delete_session(self, tenant: str, session_id: int) -> None:
        """Remove a session and its file rows (a failed prepare); blobs go at expiry."""
        self._known.forget(tenant, session_id)
        with self._tx() as conn:
            conn.execute(self._sql.delete_session, _p(dict(tenant=tenant, sid=session_id)))
            conn.execute(self._sql.delete_session_files, _p(dict(tenant=tenant, sid=session_id)))

    # -- applications and activation -----------------------------------------------------------

    @staticmethod
    def _app_rows(rows: list[Any]) -> list[AppRow]:
        return [AppRow(AppId(t, ap, i), sid, c, act, cfg) for t, ap, i, sid, c, act, cfg in rows]

    def get_application(self, app: AppId) -> AppRow | None:
        rows = self._app_rows(self._rows(self._sql.application, **_unit(app)))
        return rows[0] if rows else None

    def active_session_id(self, app: AppId) -> int | None:
        rows = self._rows(self._sql.active_session, **_unit(app))
        return int(rows[0][0]) if rows else None

    def note_unit(self, app: AppId, active: int | None, digests: Mapping[str, str]) -> None:
        """What the engine just read of a unit (its active session and that session's
        Serve app digests, as a prepare reads them): on a shared store, the guess the
        session's activation starts from, so a deploy spread over engines by a load
        balancer activates from what its own prepare saw."""
        if self.location.shared:
            self._known.read(app, active, digests)

    def session_counts(self) -> dict[tuple[str, str], int]:
        """(tenant, status) -> number of sessions, for the ``gitsync_sessions`` gauge."""
        rows = self._rows(self._sql.session_counts)
        return {(str(tenant), str(status)): int(count) for tenant, status, count in rows}

    def list_applications(self, tenant: str) -> list[AppRow]:
        return self._app_rows(self._rows(self._sql.applications_of, tenant=tenant))

    def serve_apps_of_tenant(self, tenant: str, exclude: AppId) -> list[OtherUnitApp]:
        rows = self._rows(self._sql.other_serve_apps, **_unit(exclude))
        return [OtherUnitApp(AppId(tenant, a, i), n, rp) for a, i, n, rp in rows]

    def deployed_apps(self, app: AppId) -> list[DeployedApp]:
        rows = self._rows(self._sql.deployed_apps, **_unit(app))
        return [DeployedApp(n, rp, json.loads(cfg), t, g) for n, rp, cfg, t, g in rows]

    @contextlib.contextmanager
    def activation(self, tenant: str, session_id: int) -> Iterator[ActivationTx]:
        """An activation: what the engine checks (the session, its unit's active
        session), then ``tx.write``, all or nothing; leaving without writing writes
        nothing. SQLite: one durable transaction that opens with the write lock and
        commits when the block ends. PostgreSQL: ``tx.write`` is the whole transaction."""
        if self.location.shared:
            # PostgreSQL: what this engine last wrote, or a read; then one statement that
            # writes everything or nothing (what it relies on re-checked under row
            # locks), as its own transaction. A guess is forgotten unless it was right.
            tx = ActivationTx(self, None, tenant, session_id)
            try:
                yield tx
            except BaseException:
                if tx.guessed and tx.session is not None:
                    self._known.forget(tenant, session_id, tx.session.app)
                raise
            return
        try:
            with self._tx(durable=True) as conn:
                tx = ActivationTx(self, conn, tenant, session_id)
                yield tx
                if not tx.written:
                    raise _NothingWritten
        except _NothingWritten:
            pass

    def activate(self, act: Activation) -> None:
        """An activation transaction on its own (what ``activation`` lets the engine
        check first): all of it or none of it. StaleActivation when the active session
        is no longer the one the engine checked against."""
        with self.activation(act.app.tenant, act.session_id) as tx:
            tx.write(act)

    def _activation_reads(
        self, conn: Executor | None, tenant: str, session_id: int
    ) -> tuple[SessionInfo | None, int | None, Mapping[str, str] | None, bool]:
        """The session, its unit's active session id and (PostgreSQL: in the same
        statement, outside any transaction, unless this engine knows them) the unit's
        Serve app digests; whether they are guesses."""
        if conn is None:
            info = self._known.session(tenant, session_id)
            unit = self._known.unit(info.app) if info is not None else None
            if info is not None and unit is not None:
                return info, unit.active, unit.digests, True
        else:
            ids = _p(dict(tenant=tenant, sid=session_id))
            row = conn.execute(self._sql.session_and_active, ids).first()
            if row is None:
                return None, None, None, False
            return _session_info(tenant, session_id, row[:6]), row[6], None, False
        rows = self._rows(self._sql.activation_read, tenant=tenant, sid=session_id)
        if not rows:
            return None, None, None, False
        digests = {row[7]: row[8] for row in rows if row[7] is not None}
        info = _session_info(tenant, session_id, rows[0][:6])
        self._known.read(info.app, rows[0][6], digests)
        return info, rows[0][6], digests, False

    def _write_activation(
        self, conn: Executor | None, act: Activation, existing: Mapping[str, str] | None
    ) -> None:
        """The activation's writes: in ``conn``'s transaction, or (PostgreSQL: no
        ``conn``, ``existing`` the unit's Serve app digests as read) one statement that
        is its own transaction."""
        app = act.app
        stale = StaleActivation(
            f"{app.full_string()}: another engine activated or changed it meanwhile, try again"
        )
        if conn is None:
            assert existing is not None
            gone, changed = _serve_changes(existing, act.digests)
            configs = act.app_configs(changed)
            put = [_serve_row(act, name, configs[name]) for name in changed]
            params = dict(_moved(act), **_record(act), gone=gone, put=_dumps(put))
            write = self._sql.activation_write_gated if act.health else self._sql.activation_write
            if self._write_alone(write, _p(params))[0][0] != 1:
                self._known.forget(app.tenant, act.session_id, app)
                raise stale
            self._known.activated(app, act.session_id, act.digests)
            return
        if conn.execute(self._sql.activate_application, _p(_moved(act))).rowcount != 1:
            raise stale
        self._write_rest_of_activation(conn, act)

    def _write_rest_of_activation(self, conn: Executor, act: Activation) -> None:
        """SQLite: the writes after the unit's active session moved, one by one."""
        sql, sid, now, unit = self._sql, act.session_id, act.now, _unit(act.app)
        conn.execute(
            sql.swap_active_session,
            _p(dict(tenant=act.app.tenant, sid=sid, previous=act.previous_session, now=now)),
        )
        existing = dict(conn.execute(sql.serve_digests, _p(unit)).all())
        gone, changed = _serve_changes(existing, act.digests)
        if gone:
            conn.execute(sql.drop_serve_app, _p([dict(unit, name=name) for name in gone]))
        if changed:
            configs = act.app_configs(changed)
            rows = [
                dict(
                    unit, **_serve_row(act, name, configs[name]), last_deployed=now, generation=sid
                )
                for name in changed
            ]
            conn.execute(sql.put_serve_app, rows)
        record = dict(unit, generation=sid, session_id=sid, time=now, health_message="")
        conn.execute(sql.put_history, dict(record, **_record(act)))
        if act.health:
            conn.execute(sql.supersede_pending, _p(dict(unit, sid=sid)))
        conn.execute(sql.keep_history_files, _p(dict(unit, sid=sid)))

    def delete_application(self, app: AppId, now: float) -> None:
        unit = _unit(app)
        self._known.forget_unit(app)
        with self._tx(durable=True) as conn:
            conn.execute(self._sql.delete_active_session, _p(dict(unit, now=now)))
            conn.execute(self._sql.drop_application, _p(unit))
            conn.execute(self._sql.drop_serve_apps, _p(unit))

    # -- leases and the runtime's progress ------------------------------------------------------

    def claim_lease(
        self, name: str, holder: str, info: str, now: float, ttl: float, epoch: int | None
    ) -> int | None:
        """Take ``name`` if it is free or expired, or renew it if ``holder`` holds it at
        ``epoch``; the epoch held, None when someone else holds it."""
        params = _p(
            dict(name=name, holder=holder, info=info, now=now, expires=now + ttl, epoch=epoch)
        )
        with self._tx(bump=False) as conn:
            taken = conn.execute(self._sql.claim_lease, params).scalar()
            if taken is None:
                taken = conn.execute(self._sql.add_lease, params).scalar()
            return None if taken is None else int(taken)

    def release_lease(self, name: str, holder: str, epoch: int) -> None:
        """Let the lease go now (it keeps its epoch, so the next holder's is higher)."""
        with self._tx(bump=False) as conn:
            conn.execute(self._sql.release_lease, _p(dict(name=name, holder=holder, epoch=epoch)))

    def leases(self, prefix: str) -> list[LeaseRow]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._rows(self._sql.leases_like, pattern=escaped + "%")
        return [LeaseRow(n, h, i, float(e), int(ep)) for n, h, i, e, ep in rows]

    def sent_generation(self, app: AppId) -> int:
        """The newest generation of ``app`` handed to the runtime (0: none yet)."""
        rows = self._rows(self._sql.sent_generation, **_unit(app))
        return int(rows[0][0]) if rows else 0

    def sent_generations(self) -> dict[AppId, tuple[int, int]]:
        """Per unit: the generation last handed to the runtime (0: its removal) and the
        ``runtime`` lease epoch it was handed over under."""
        rows = self._rows(self._sql.sent_all)
        return {AppId(t, a, i): (int(g), int(e)) for t, a, i, g, e in rows}

    def active_generations(self) -> dict[AppId, int]:
        """Every active unit of every tenant and its generation, in one read."""
        return {AppId(t, a, i): int(g) for t, a, i, g in self._rows(self._sql.active_all)}

    def record_sent(
        self, app: AppId, generation: int, lease: str, holder: str, epoch: int, now: float
    ) -> bool:
        """Record that ``holder`` hands ``generation`` of ``app`` to the runtime, only
        while it holds ``lease`` at ``epoch`` unexpired at ``now``. False when it does
        not: it must not send. The lease row stays locked to the commit, so an engine
        taking the lease over meanwhile waits, then sees this record."""
        with self._tx(bump=False) as conn:
            row = conn.execute(self._sql.lease_for_update, _p(dict(name=lease))).first()
            if row is None or (row[0], int(row[2])) != (holder, epoch) or row[1] <= now:
                return False  # row: holder, expires, epoch
            conn.execute(
                self._sql.put_sent_generation,
                dict(_unit(app), generation=generation, epoch=epoch),
            )
            return True

    # -- copying a whole store ------------------------------------------------------------------

    def fill_from(self, source: Store) -> dict[str, int]:
        """Copy ``source``'s rows into this store, which must hold no state yet (the
        ``default`` tenant of a fresh store aside): one transaction, all or nothing."""
        if self.list_tenants() != ["default"] or self.session_counts():
            raise BadRequest(
                f"The target store '{self.location.describe()}' already holds state: "
                "copy only into a new, empty one"
            )
        counts: dict[str, int] = {}
        from gitsync.engine.store.schema import tenants
        from gitsync.engine.store.statements import COPIED

        with self._tx() as conn, source._mutex:
            conn.execute(tenants.delete())
            for table in COPIED:
                counts[table.name] = 0
                for batch in source._database().table_batches(table):
                    conn.execute(table.insert(), batch)
                    counts[table.name] += len(batch)
        return counts

    # -- history and expiry --------------------------------------------------------------------

    def history(self, app: AppId) -> list[HistoryEntry]:
        rows = self._rows(self._sql.history, **_unit(app))
        return [
            HistoryEntry(app, g, s, t, k, r, json.loads(m), json.loads(su), rb, hh, hm)
            for g, s, t, k, r, m, su, rb, hh, hm in rows
        ]

    def history_file_data(self, app: AppId, generation: int) -> dict[str, bytes]:
        """The package files a generation activated (kept after its session expires)."""
        rows = self._rows(self._sql.history_file_data, **_unit(app), generation=generation)
        return {path: bytes(data) for path, data in rows}

    def set_health(self, app: AppId, generation: int, health: str, message: str) -> None:
        """Record the health gate's verdict on one generation."""
        with self._tx() as conn:
            conn.execute(
                self._sql.set_health,
                _p(dict(_unit(app), generation=generation, health=health, message=message)),
            )

    def expire(self, now: float, lifetime: float) -> list[tuple[str, int]]:
        """Delete sessions that are not active and outlived ``lifetime``; then drop blobs
        that no session and no history record refers to."""
        sql = self._sql
        with self._tx() as conn:
            expired = conn.execute(sql.expired_sessions, _p(dict(now=now, lifetime=lifetime))).all()
            for tenant, session_id in expired:
                conn.execute(sql.delete_session, _p(dict(tenant=tenant, sid=session_id)))
                conn.execute(sql.delete_session_files, _p(dict(tenant=tenant, sid=session_id)))
            conn.execute(sql.drop_unused_blobs)
        for tenant, session_id in expired:
            self._known.forget(tenant, session_id)
        return [(str(t), int(i)) for t, i in expired]


class _NothingWritten(Exception):
    """Leaves an activation transaction without writing: rolled back, not an error."""


class ActivationTx:
    """An open activation (``Store.activation``): what the engine checks and ``write``.
    On SQLite they are read under the write lock. On PostgreSQL they are read, or
    ``guessed`` from what this engine last wrote, and the write verifies them."""

    def __init__(self, store: Store, conn: Executor | None, tenant: str, session_id: int) -> None:
        self._store = store
        self._conn = conn
        reads = store._activation_reads(conn, tenant, session_id)
        self.session, self.active, self._digests, self.guessed = reads
        self.written = False

    def write(self, act: Activation) -> None:
        """StaleActivation (and nothing written) when the unit's active session is no
        longer ``act.previous_session`` or the session changed since it was read."""
        self._store._write_activation(self._conn, act, self._digests)
        self.written = True


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """A named lease: who holds it until when; ``epoch`` grows with each new holder."""

    name: str
    holder: str
    info: str
    expires: float
    epoch: int


def _serve_changes(
    existing: Mapping[str, str], digests: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """The unit's Serve applications to drop (gone from the package) and to write (new
    or changed, by digest)."""
    gone = sorted(existing.keys() - digests.keys())
    changed = [name for name, digest in digests.items() if existing.get(name) != digest]
    return gone, changed


def _moved(act: Activation) -> dict[str, Any]:
    """The unit's active session moved from ``previous`` to this one, if the session is
    still as checked (its ``changed`` stamp)."""
    return dict(
        _unit(act.app),
        sid=act.session_id,
        checksum=act.checksum,
        now=act.now,
        previous=act.previous_session,
        changed=act.session_changed,
    )


def _record(act: Activation) -> dict[str, Any]:
    """The activation's history record, beside its unit, generation and time."""
    return dict(
        kind=act.kind,
        revision=act.revision,
        meta=_dumps(act.meta),
        summary=_dumps(act.summary),
        rollback_of=act.rollback_of,
        health=act.health,
    )


def _serve_row(act: Activation, name: str, config: Any) -> dict[str, Any]:
    """One Serve application the activation writes."""
    return dict(
        name=name,
        route_prefix=act.route_prefixes.get(name),
        config=_dumps(config),
        digest=act.digests[name],
    )


def _p(params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
    """Values for the statements' bound parameters (named ``p_<name>``, see statements.py)."""
    if isinstance(params, Mapping):
        return {f"p_{key}": value for key, value in params.items()}
    return [_p(one) for one in params]


def _session_info(tenant: str, session_id: int, row: Sequence[Any]) -> SessionInfo:
    status, application, instance, created, changed, previous = row
    app = AppId(tenant, application, instance)
    return SessionInfo(tenant, session_id, SessionStatus(status), app, created, changed, previous)


def _unit(app: AppId) -> dict[str, str]:
    return dict(tenant=app.tenant, application=app.application, instance=app.instance)


def _database(location: StoreLocation) -> Database:
    if location.state_dir is not None and COMPILED_SQLITE:
        from gitsync.engine.store.sqlite_db import SqliteDatabase

        return SqliteDatabase(location)
    from gitsync.engine.store.sqlalchemy_db import SqlAlchemyDatabase

    return SqlAlchemyDatabase(location)
