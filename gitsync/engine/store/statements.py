"""The store's statements, built once per dialect with bound parameters.

Building a SQLAlchemy statement costs more than running it on SQLite; built once, each
execution only binds values (and hits SQLAlchemy's compiled cache). Parameters are
named after their columns (with a ``p_`` prefix); ``unit`` statements take ``tenant``, ``application`` and
``instance``. The only difference between the dialects is the upsert's ``insert``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from gitsync.engine.store.schema import (
    applications,
    blobs,
    history,
    history_files,
    leases,
    runtime_sent,
    serve_apps,
    session_files,
    sessions,
    state_version,
    tenants,
)


def P(name: str, type_: Any = None) -> sa.BindParameter[Any]:
    """A bound parameter: ``p_`` keeps its name apart from the columns, which
    SQLAlchemy reserves in INSERT and UPDATE statements."""
    return sa.bindparam(f"p_{name}", type_=type_)


def unit_of(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.tenant == P("tenant"),
        table.c.application == P("application"),
        table.c.instance == P("instance"),
    )


def _session_files_of() -> sa.ColumnElement[bool]:
    return sa.and_(session_files.c.tenant == P("tenant"), session_files.c.session_id == P("sid"))


def _session_row() -> sa.ColumnElement[bool]:
    return sa.and_(sessions.c.tenant == P("tenant"), sessions.c.id == P("sid"))


class Statements:
    """Every statement the store runs, for one dialect."""

    def __init__(self, shared: bool) -> None:
        # The PostgreSQL dialect (~35 ms to import) only for a shared store: an embedded
        # engine, as a push hook opens one, never loads it.
        insert: Any
        if shared:
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        s, f, a, sv, h = sessions.c, session_files.c, applications.c, serve_apps.c, history.c
        self.bump = state_version.update().values(version=state_version.c.version + 1)
        self.version = sa.select(state_version.c.version)
        self.ping = sa.select(sa.literal(1))

        # tenants
        self.add_tenant = (
            insert(tenants)
            .values(name=P("name"), created=P("created"), last_session=1)
            .on_conflict_do_nothing()
            .returning(tenants.c.name)
        )
        self.tenant_names = sa.select(tenants.c.name).order_by(tenants.c.name)
        self.tenant_exists = sa.select(sa.literal(1)).where(tenants.c.name == P("name"))
        self.next_session_id = (
            tenants.update()
            .where(tenants.c.name == P("name"))
            .values(last_session=tenants.c.last_session + 1)
            .returning(tenants.c.last_session)
        )

        # sessions and their files
        self.add_session = sessions.insert().values(
            tenant=P("tenant"),
            id=P("sid"),
            status="NEW",
            application=P("application"),
            instance=P("instance"),
            created=P("now"),
            changed=P("now"),
            previous_active=P("previous"),
        )
        self.add_blob = insert(blobs).on_conflict_do_nothing()
        self.add_session_files = session_files.insert()
        columns = [f.tenant, f.session_id, f.path, f.kind, f.sha256, f.status]
        new_ids = (P("tenant", type_=sa.Text), P("sid", type_=sa.Integer))
        self.copy_session_files = session_files.insert().from_select(
            columns,
            sa.select(*new_ids, f.path, f.kind, f.sha256, sa.literal("new")).where(
                f.tenant == P("from_tenant"), f.session_id == P("from_sid"), f.status != "deleted"
            ),
        )
        hf = history_files.c
        self.copy_history_files = session_files.insert().from_select(
            columns,
            sa.select(*new_ids, hf.path, sa.literal("file"), hf.sha256, sa.literal("new")).where(
                unit_of(history_files), hf.generation == P("generation")
            ),
        )
        self.session = sa.select(
            s.status, s.application, s.instance, s.created, s.changed, s.previous_active
        ).where(_session_row())
        # The session and its unit's active session, in one read (what activation checks).
        active_of_session = (
            sa.select(a.session_id)
            .where(a.tenant == s.tenant, a.application == s.application, a.instance == s.instance)
            .scalar_subquery()
        )
        self.session_and_active = sa.select(
            s.status,
            s.application,
            s.instance,
            s.created,
            s.changed,
            s.previous_active,
            active_of_session,
        ).where(_session_row())
        self.session_files = (
            sa.select(f.path, f.kind, f.sha256, sa.func.coalesce(blobs.c.md5, ""), f.status)
            .select_from(session_files.outerjoin(blobs, blobs.c.sha256 == f.sha256))
            .where(_session_files_of())
            .order_by(f.path)
        )
        self.session_file_data = (
            sa.select(f.path, blobs.c.data)
            .select_from(session_files.join(blobs, blobs.c.sha256 == f.sha256))
            .where(_session_files_of(), f.kind == "file", f.status != "deleted")
        )
        self.session_file_sizes = (
            sa.select(f.path, blobs.c.size)
            .select_from(session_files.join(blobs, blobs.c.sha256 == f.sha256))
            .where(_session_files_of(), f.kind == "file", f.status != "deleted")
        )
        self.blob = sa.select(blobs.c.data).where(blobs.c.sha256 == P("sha"))
        self.blob_count = sa.select(sa.func.count()).select_from(blobs)
        upsert_file = insert(session_files)
        self.put_session_file = upsert_file.on_conflict_do_update(
            index_elements=["tenant", "session_id", "path"],
            set_={k: upsert_file.excluded[k] for k in ("kind", "sha256", "status")},
        )
        self.delete_session_file = (
            session_files.update()
            .where(_session_files_of(), f.path == P("path"))
            .values(sha256=None, status="deleted")
        )
        self.remove_session_file = session_files.delete().where(
            _session_files_of(), f.path == P("path")
        )
        self.reset_session = (
            sessions.update()
            .where(_session_row())
            .values(status="NEW", changed=P("now"), prepared=None, config=None)
        )
        self.save_prepared = (
            sessions.update()
            .where(_session_row())
            .values(
                status="PREPARED",
                application=P("application"),
                instance=P("instance"),
                prepared=P("prepared"),
                config=P("config"),
                changed=P("now"),
            )
        )
        self.prepared = sa.select(s.prepared, s.config).where(_session_row())
        # One field of the JSON text, read by the database (PostgreSQL must cast the
        # text to json; SQLite must not: its CAST would make a number of it).
        record = sa.cast(s.prepared, sa.JSON) if shared else sa.type_coerce(s.prepared, sa.JSON)
        self.prepared_plan_text = sa.select(record["plan_text"].as_string()).where(_session_row())
        self.delete_session = sessions.delete().where(_session_row())
        self.delete_session_files = session_files.delete().where(_session_files_of())
        # An activation's two status changes in one statement: this session ACTIVE, the
        # previous one (if any, and if another) DEACTIVATED.
        self.swap_active_session = (
            sessions.update()
            .where(s.tenant == P("tenant"), s.id.in_([P("sid"), P("previous")]))
            .values(
                status=sa.case((s.id == P("sid"), "ACTIVE"), else_="DEACTIVATED"),
                changed=P("now"),
            )
        )

        # applications and activation
        app_columns = (a.tenant, a.application, a.instance, a.session_id, a.checksum)
        self.application = sa.select(*app_columns, a.activated, a.config).where(
            unit_of(applications)
        )
        self.applications_of = (
            sa.select(*app_columns, a.activated, a.config)
            .where(a.tenant == P("tenant"))
            .order_by(a.application, a.instance)
        )
        self.active_session = sa.select(a.session_id).where(unit_of(applications))
        self.session_counts = sa.select(s.tenant, s.status, sa.func.count()).group_by(
            s.tenant, s.status
        )
        self.other_serve_apps = sa.select(
            sv.application, sv.instance, sv.name, sv.route_prefix
        ).where(
            sv.tenant == P("tenant"),
            sa.not_(sa.and_(sv.application == P("application"), sv.instance == P("instance"))),
        )
        self.deployed_apps = (
            sa.select(sv.name, sv.route_prefix, sv.config, sv.last_deployed, sv.generation)
            .where(unit_of(serve_apps))
            .order_by(sv.name)
        )
        upsert_app = insert(applications).from_select(
            [*app_columns, a.activated, a.config],
            _application_row(s.config).where(
                _session_row(),
                # The session as the engine checked it (not re-prepared since).
                s.changed == P("changed", type_=sa.Double),
                sa.or_(
                    P("previous", type_=sa.Integer).is_(None),
                    sa.exists().where(
                        unit_of(applications), a.session_id == P("previous", type_=sa.Integer)
                    ),
                ),
            ),
        )
        # Writes one row only while the unit's active session is still ``previous`` (or
        # it has none and ``previous`` is None): zero rows means another engine
        # activated or deleted it since the engine checked.
        self.activate_application = upsert_app.on_conflict_do_update(
            index_elements=["tenant", "application", "instance"],
            set_={
                k: upsert_app.excluded[k] for k in ("session_id", "checksum", "activated", "config")
            },
            where=a.session_id == P("previous", type_=sa.Integer),
        )
        self.serve_digests = sa.select(sv.name, sv.digest).where(unit_of(serve_apps))
        self.drop_serve_app = serve_apps.delete().where(unit_of(serve_apps), sv.name == P("name"))
        upsert_serve = insert(serve_apps)
        self.put_serve_app = upsert_serve.on_conflict_do_update(
            index_elements=["tenant", "application", "instance", "name"],
            set_={
                k: upsert_serve.excluded[k]
                for k in ("route_prefix", "config", "digest", "last_deployed", "generation")
            },
        )
        upsert_history = insert(history)
        self.put_history = upsert_history.on_conflict_do_update(
            index_elements=["tenant", "application", "instance", "generation"],
            set_={k: upsert_history.excluded[k] for k in _HISTORY_FIELDS},
        )
        self.supersede_pending = (
            history.update()
            .where(unit_of(history), h.generation < P("sid"), h.health == "pending")
            .values(health="superseded")
        )
        self.keep_history_files = (
            insert(history_files)
            .from_select(
                [hf.tenant, hf.application, hf.instance, hf.generation, hf.path, hf.sha256],
                sa.select(
                    P("tenant", type_=sa.Text),
                    P("application", type_=sa.Text),
                    P("instance", type_=sa.Text),
                    P("sid", type_=sa.Integer),
                    f.path,
                    f.sha256,
                ).where(
                    f.tenant == P("tenant"),
                    f.session_id == P("sid"),
                    f.kind == "file",
                    f.status != "deleted",
                ),
            )
            .on_conflict_do_nothing()
        )
        if shared:
            self._activation_on_postgresql(active_of_session)
            self._writes_alone_on_postgresql()
        self.delete_active_session = (
            sessions.update()
            .where(
                s.tenant == P("tenant"),
                s.id == sa.select(a.session_id).where(unit_of(applications)).scalar_subquery(),
            )
            .values(status="DELETED", changed=P("now"))
        )
        self.drop_application = applications.delete().where(unit_of(applications))
        self.drop_serve_apps = serve_apps.delete().where(unit_of(serve_apps))

        # history and expiry
        self.history = (
            sa.select(
                h.generation,
                h.session_id,
                h.time,
                h.kind,
                h.revision,
                h.meta,
                h.summary,
                h.rollback_of,
                h.health,
                h.health_message,
            )
            .where(unit_of(history))
            .order_by(h.generation.desc())
        )
        self.history_file_data = (
            sa.select(hf.path, blobs.c.data)
            .select_from(history_files.join(blobs, blobs.c.sha256 == hf.sha256))
            .where(unit_of(history_files), hf.generation == P("generation"))
        )
        self.set_health = (
            history.update()
            .where(unit_of(history), h.generation == P("generation"))
            .values(health=P("health"), health_message=P("message"))
        )
        last_touched = sa.case((s.created > s.changed, s.created), else_=s.changed)
        self.expired_sessions = (
            sa.select(s.tenant, s.id)
            .where(
                last_touched + P("lifetime", type_=sa.Double) < P("now", type_=sa.Double),
                ~sa.exists().where(a.tenant == s.tenant, a.session_id == s.id),
            )
            .order_by(s.tenant, s.id)
        )
        self.drop_unused_blobs = blobs.delete().where(
            ~sa.exists().where(f.sha256 == blobs.c.sha256),
            ~sa.exists().where(hf.sha256 == blobs.c.sha256),
        )

        # leases and the runtime's progress
        lc = leases.c
        self.lease = sa.select(lc.holder, lc.info, lc.expires, lc.epoch).where(lc.name == P("name"))
        self.leases_like = sa.select(lc.name, lc.holder, lc.info, lc.expires, lc.epoch).where(
            lc.name.like(P("pattern"), escape="\\")
        )
        self.add_lease = (
            insert(leases)
            .values(
                name=P("name"), holder=P("holder"), info=P("info"), expires=P("expires"), epoch=1
            )
            .on_conflict_do_nothing()
            .returning(lc.epoch)
        )
        # Take over an expired lease, or renew one we hold (same holder and epoch).
        self.claim_lease = (
            leases.update()
            .where(
                lc.name == P("name"),
                sa.or_(
                    lc.expires < P("now", type_=sa.Double),
                    sa.and_(lc.holder == P("holder"), lc.epoch == P("epoch")),
                ),
            )
            .values(
                holder=P("holder"),
                info=P("info"),
                expires=P("expires"),
                epoch=sa.case(
                    (sa.and_(lc.holder == P("holder"), lc.epoch == P("epoch")), lc.epoch),
                    else_=lc.epoch + 1,
                ),
            )
            .returning(lc.epoch)
        )
        self.release_lease = (
            leases.update()
            .where(lc.name == P("name"), lc.holder == P("holder"), lc.epoch == P("epoch"))
            .values(expires=0.0)
        )
        # The runtime's driver: its lease row locked, so a takeover waits for a send
        # being recorded (and then sees it), and a record waits for a takeover (and
        # then fails its check).
        self.lease_for_update = (
            sa.select(lc.holder, lc.expires, lc.epoch).where(lc.name == P("name")).with_for_update()
        )
        rs = runtime_sent.c
        self.sent_generation = sa.select(rs.generation).where(unit_of(runtime_sent))
        self.sent_all = sa.select(rs.tenant, rs.application, rs.instance, rs.generation, rs.epoch)
        self.active_all = sa.select(a.tenant, a.application, a.instance, a.session_id)
        upsert_sent = insert(runtime_sent)
        self.put_sent_generation = upsert_sent.on_conflict_do_update(
            index_elements=["tenant", "application", "instance"],
            set_={
                "generation": upsert_sent.excluded.generation,
                "epoch": upsert_sent.excluded.epoch,
            },
        )

    def _writes_alone_on_postgresql(self) -> None:
        """PostgreSQL: a deploy's other two writes, each one statement that is its own
        transaction (no BEGIN and COMMIT round trips, and the state version's lock held
        for one statement): a new session with its files, and a prepare."""
        from sqlalchemy.dialects.postgresql import ARRAY, insert

        s, f = sessions.c, session_files.c
        bump = _bumped()
        session_id = (
            tenants.update()
            .where(tenants.c.name == P("tenant"), sa.exists(bump.select()))
            .values(last_session=tenants.c.last_session + 1)
            .returning(tenants.c.last_session.label("id"))
            .cte("next_id")
        )
        session = insert(sessions).from_select(
            [s.tenant, s.id, s.status, s.application, s.instance, s.created, s.changed]
            + [s.previous_active],
            sa.select(
                P("tenant", type_=sa.Text),
                session_id.c.id,
                sa.literal("NEW"),
                P("application", type_=sa.Text),
                P("instance", type_=sa.Text),
                P("now", type_=sa.Double),
                P("now", type_=sa.Double),
                P("previous", type_=sa.Integer),
            ),
        )
        # The files as arrays, a row per file: their blobs (kept once per content) and
        # the session's rows naming them.
        blob_rows = (
            sa.func.unnest(
                P("blob_shas", type_=ARRAY(sa.Text)),
                P("md5s", type_=ARRAY(sa.Text)),
                P("sizes", type_=ARRAY(sa.Integer)),
                P("datas", type_=ARRAY(sa.LargeBinary)),
            )
            .table_valued("sha256", "md5", "size", "data")
            .render_derived(name="b")
        )
        blobs_added = (
            insert(blobs)
            .from_select(
                ["sha256", "md5", "size", "data"],
                sa.select(blob_rows.c.sha256, blob_rows.c.md5, blob_rows.c.size, blob_rows.c.data),
            )
            .on_conflict_do_nothing()
        )
        file_rows = (
            sa.func.unnest(P("paths", type_=ARRAY(sa.Text)), P("shas", type_=ARRAY(sa.Text)))
            .table_valued("path", "sha256")
            .render_derived(name="u")
        )
        files = session_files.insert().from_select(
            [f.tenant, f.session_id, f.path, f.kind, f.sha256, f.status],
            sa.select(
                P("tenant", type_=sa.Text),
                session_id.c.id,
                file_rows.c.path,
                sa.literal("file"),
                file_rows.c.sha256,
                sa.literal("new"),
            ).select_from(session_id, file_rows),
        )
        self.session_with_files = (
            sa.select(session_id.c.id)
            .add_cte(bump, session_id)
            .add_cte(session.cte("session"), blobs_added.cte("blobs"), files.cte("files"))
        )
        self.save_prepared_alone = self.save_prepared.where(sa.exists(bump.select())).add_cte(bump)

    def _activation_on_postgresql(self, active_of_session: Any) -> None:
        """PostgreSQL: an activation is one read, then one statement that is all of its
        writes and its own transaction (autocommit: no BEGIN and COMMIT round trips; ten
        statements in a transaction took ~1 ms more than two alone). SQLite runs the
        statements one by one in a transaction (each costs microseconds; it has no
        data-modifying WITH).

        The read takes no lock: the engine checks what it read, and the write re-checks
        what the checks relied on under row locks, writing everything or nothing."""
        from sqlalchemy.dialects.postgresql import ARRAY, JSON, insert

        s, a, sv = sessions.c, applications.c, serve_apps.c
        same_unit = sa.and_(
            sv.tenant == s.tenant, sv.application == s.application, sv.instance == s.instance
        )
        # The session, its unit's active session and the unit's Serve application digests.
        self.activation_read = (
            sa.select(
                s.status,
                s.application,
                s.instance,
                s.created,
                s.changed,
                s.previous_active,
                active_of_session,
                sv.name,
                sv.digest,
            )
            .select_from(sessions.outerjoin(serve_apps, same_unit))
            .where(_session_row())
        )

        # The write. Its snapshot is taken before it waits for any lock, so what it relies
        # on is read under a row lock, which sees the newest committed row (PostgreSQL's
        # READ COMMITTED re-check). First the state version's row lock (every writer takes
        # it first: no deadlock); then the session, still as the engine checked it (not
        # re-prepared since); then the unit's active session moved from ``previous`` (or
        # added when it had none). Every other write reads the unit from that row
        # (``app``), so it happens only if that one did.
        bump = _bumped()
        checked = (
            sa.select(s.config)
            .where(
                _session_row(),
                s.changed == P("changed", type_=sa.Double),
                sa.exists(sa.select(bump.c.version)),
            )
            .with_for_update()
            .cte("checked")
        )
        previous = P("previous", type_=sa.Integer)
        unit_columns = (a.tenant, a.application, a.instance, a.session_id)
        moved = (
            applications.update()
            .where(unit_of(applications), a.session_id == previous, sa.exists(checked.select()))
            .values(
                session_id=P("sid", type_=sa.Integer),
                checksum=P("checksum", type_=sa.Text),
                activated=P("now", type_=sa.Double),
                config=sa.select(checked.c.config).scalar_subquery(),
            )
            .returning(*unit_columns)
            .cte("moved")
        )
        added = (
            insert(applications)
            .from_select(
                [*unit_columns, a.checksum, a.activated, a.config],
                _application_row(checked.c.config).where(previous.is_(None)),
            )
            .on_conflict_do_nothing()
            .returning(*unit_columns)
            .cte("added")
        )
        app = sa.union_all(moved.select(), added.select()).cte("app")
        # The names of the Serve applications to drop as an array (looked up by the
        # primary key, not a scan of the unit's rows); those to write as JSON text (the
        # driver encodes arrays in Python, escaping every quote of every config).
        gone = serve_apps.delete().where(
            unit_of(serve_apps),
            sv.name == sa.any_(P("gone", type_=ARRAY(sa.Text))),
            sa.exists(app.select()),
        )
        rows = (
            sa.func.json_to_recordset(sa.cast(P("put"), JSON))
            .table_valued(
                sa.column("name", sa.Text),
                sa.column("route_prefix", sa.Text),
                sa.column("config", sa.Text),
                sa.column("digest", sa.Text),
            )
            .render_derived(name="u", with_types=True)
        )
        unit = (app.c.tenant, app.c.application, app.c.instance)
        serve_columns = [sv.tenant, sv.application, sv.instance, sv.name, sv.route_prefix]
        serve_columns += [sv.config, sv.digest, sv.last_deployed, sv.generation]
        put = insert(serve_apps).from_select(
            serve_columns,
            sa.select(
                *unit,
                rows.c.name,
                rows.c.route_prefix,
                rows.c.config,
                rows.c.digest,
                P("now", type_=sa.Double),
                app.c.session_id,
            ).select_from(app, rows),
        )
        put = put.on_conflict_do_update(
            index_elements=["tenant", "application", "instance", "name"],
            set_={
                k: put.excluded[k]
                for k in ("route_prefix", "config", "digest", "last_deployed", "generation")
            },
        )
        h = history.c
        record = insert(history).from_select(
            [h.tenant, h.application, h.instance, h.generation, *(h[k] for k in _HISTORY_FIELDS)],
            sa.select(
                *unit,
                app.c.session_id,
                app.c.session_id,
                P("now", type_=sa.Double),
                P("kind", type_=sa.Text),
                P("revision", type_=sa.Text),
                P("meta", type_=sa.Text),
                P("summary", type_=sa.Text),
                P("rollback_of", type_=sa.Integer),
                P("health", type_=sa.Text),
                sa.literal(""),
            ),
        )
        record = record.on_conflict_do_update(
            index_elements=["tenant", "application", "instance", "generation"],
            set_={k: record.excluded[k] for k in _HISTORY_FIELDS},
        )
        f, hf = session_files.c, history_files.c
        keep_files = (
            insert(history_files)
            .from_select(
                [hf.tenant, hf.application, hf.instance, hf.generation, hf.path, hf.sha256],
                # By the parameters, not by app's columns: the session's rows are found
                # by the primary key whatever the planner guesses of app.
                sa.select(*unit, app.c.session_id, f.path, f.sha256).where(
                    f.tenant == P("tenant"),
                    f.session_id == P("sid"),
                    f.kind == "file",
                    f.status != "deleted",
                ),
            )
            .on_conflict_do_nothing()
        )
        # This session ACTIVE and the previous one DEACTIVATED, each by its primary key
        # (a generic plan for ``id IN (sid, previous)`` scans the tenant's sessions).
        status = sessions.update().where(sa.exists(app.select())).values(changed=P("now"))
        writes = [
            status.where(_session_row()).values(status="ACTIVE").cte("activated"),
            status.where(s.tenant == P("tenant"), s.id == previous)
            .values(status="DEACTIVATED")
            .cte("deactivated"),
            gone.cte("gone"),
            put.cte("put"),
            record.cte("record"),
            keep_files.cte("files"),
        ]
        count = sa.select(sa.func.count()).select_from(app).add_cte(bump, checked, moved, added)
        self.activation_write = count.add_cte(*writes)
        # With a health gate, older pending generations are superseded too: a statement
        # of its own, so an ungated activation does not scan the unit's history.
        supersede = self.supersede_pending.where(sa.exists(app.select())).cte("supersede")
        self.activation_write_gated = count.add_cte(*writes, supersede)


def _bumped() -> Any:
    """The state version's row lock and count, first in a statement that is a whole
    write (every writer takes it first: no deadlock)."""
    return (
        state_version.update()
        .values(version=state_version.c.version + 1)
        .returning(state_version.c.version)
        .cte("bump")
    )


def _application_row(config: Any) -> sa.Select[Any]:
    """The unit's applications row an activation writes: the parameters and ``config``,
    the session's deploy config."""
    return sa.select(
        P("tenant", type_=sa.Text),
        P("application", type_=sa.Text),
        P("instance", type_=sa.Text),
        P("sid", type_=sa.Integer),
        P("checksum", type_=sa.Text),
        P("now", type_=sa.Double),
        config,
    )


_HISTORY_FIELDS = (
    "session_id",
    "time",
    "kind",
    "revision",
    "meta",
    "summary",
    "rollback_of",
    "health",
    "health_message",
)

#: What a copy of a whole store carries (``gitsync store migrate``), parents first.
COPIED = (tenants, blobs, sessions, session_files, applications, serve_apps, history, history_files)
_BATCH = 500


def rows_of(conn: sa.Connection, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    """All rows of ``table`` in batches, in primary key order."""
    result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
    while batch := result.mappings().fetchmany(_BATCH):
        yield [dict(row) for row in batch]


@functools.cache
def statements(shared: bool) -> Statements:
    return Statements(shared)
