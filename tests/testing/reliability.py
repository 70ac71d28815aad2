"""Shared pieces of the reliability suite: the store invariants, config generators and
gitsync's own live view and history over HTTP.

The CI tests and ``bench/reliability.py`` (the long variants) both use these.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


class InvariantViolation(AssertionError):
    """A store invariant does not hold: counted by the bench, fatal in the tests."""


# -- configs --------------------------------------------------------------------------


def serve_config(rng: random.Random, unit: str, marker: str = "") -> bytes:
    """A valid deploy config for ``unit`` with 1-4 applications and random prices."""
    lines = ["applications:"]
    for index in range(rng.randint(1, 4)):
        lines += [
            f"  - name: {unit}-app{index}",
            f"    route_prefix: /{unit}/app{index}",
            "    import_path: mod:app",
            "    deployments:",
            "      - name: Model",
            f"        num_replicas: {rng.randint(1, 3)}",
            f"        user_config: {{price: {rng.randint(1, 10_000)}, marker: '{marker}'}}",
        ]
    return ("\n".join(lines) + "\n").encode()


# -- the store invariants --------------------------------------------------------------


@dataclass
class InvariantState:
    """What the invariants remember between checks of one state directory."""

    last_generation: dict[str, int] = field(default_factory=dict)  # unit -> generation
    reported: dict[str, set[int]] = field(default_factory=dict)  # activations seen by clients
    history_total: int = 0


def _connect_read_only(state_dir: Path) -> sqlite3.Connection:
    """A read-only view that works beside a running engine (WAL readers never block)."""
    uri = f"file:{state_dir / 'engine.sqlite3'}?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    db.execute("BEGIN")  # one read transaction: every query sees the same snapshot
    return db


def check_store(state_dir: Path, memory: InvariantState) -> int:
    """Check every invariant of the issue on ``state_dir``; return the history count.

    Exactly one ACTIVE session per unit (the unit's), the live config equals the active
    package's, generations only grow, the history is complete (every activation a client
    was told about is recorded, the active generation leads it, its files are the
    session's) and every stored file a session or history record refers to exists.
    """
    db = _connect_read_only(state_dir)
    try:
        return _check(db, memory)
    finally:
        db.close()


def _fail(message: str) -> InvariantViolation:
    return InvariantViolation(message)


def _check(db: sqlite3.Connection, memory: InvariantState) -> int:
    if db.execute("PRAGMA quick_check").fetchone() != ("ok",):
        raise _fail("PRAGMA quick_check failed")
    units = db.execute(
        "SELECT tenant, application, instance, session_id, config FROM applications"
    ).fetchall()
    active = db.execute(
        "SELECT tenant, application, instance, id FROM sessions WHERE status = 'ACTIVE'"
    ).fetchall()
    active_by_unit: dict[tuple[str, str, str], list[int]] = {}
    for tenant, application, instance, sid in active:
        active_by_unit.setdefault((tenant, application, instance), []).append(sid)
    live_units = {(t, a, i): sid for t, a, i, sid, _ in units}
    for unit, ids in active_by_unit.items():
        if len(ids) != 1 or live_units.get(unit) != ids[0]:
            raise _fail(f"unit {unit}: ACTIVE sessions {ids}, live session {live_units.get(unit)}")
    for tenant, application, instance, sid, config in units:
        unit = (tenant, application, instance)
        name = f"{tenant}.{application}.{instance}"
        if active_by_unit.get(unit) != [sid]:
            raise _fail(f"{name}: live session {sid} is not its only ACTIVE session")
        session = db.execute(
            "SELECT config, prepared FROM sessions WHERE tenant = ? AND id = ?", (tenant, sid)
        ).fetchone()
        if session is None or session[0] != config:
            raise _fail(f"{name}: the live config is not session {sid}'s config")
        prepared = json.loads(session[1])
        live = dict(
            db.execute(
                "SELECT name, digest FROM serve_apps WHERE tenant = ? AND application = ? "
                "AND instance = ?",
                unit,
            ).fetchall()
        )
        if live != prepared["app_digests"]:
            raise _fail(f"{name}: live Serve applications differ from session {sid}'s")
        if sid < memory.last_generation.get(name, 0):
            raise _fail(
                f"{name}: generation went back from {memory.last_generation[name]} to {sid}"
            )
        memory.last_generation[name] = sid
        generations = [
            g
            for (g,) in db.execute(
                "SELECT generation FROM history WHERE tenant = ? AND application = ? "
                "AND instance = ? ORDER BY generation DESC",
                unit,
            )
        ]
        if not generations or generations[0] != sid:
            raise _fail(f"{name}: history does not lead with the active generation {sid}")
        missing = memory.reported.get(name, set()) - set(generations)
        if missing:
            raise _fail(
                f"{name}: activations {sorted(missing)} were reported but are not in history"
            )
        files = dict(
            db.execute(
                "SELECT path, sha256 FROM session_files WHERE tenant = ? AND session_id = ? "
                "AND kind = 'file' AND status != 'deleted'",
                (tenant, sid),
            ).fetchall()
        )
        kept = dict(
            db.execute(
                "SELECT path, sha256 FROM history_files WHERE tenant = ? AND application = ? "
                "AND instance = ? AND generation = ?",
                (*unit, sid),
            ).fetchall()
        )
        if files != kept:
            raise _fail(f"{name}: history files of generation {sid} differ from the session's")
    for table in ("session_files", "history_files"):
        (dangling,) = db.execute(
            f"SELECT COUNT(*) FROM {table} t WHERE t.sha256 IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM blobs b WHERE b.sha256 = t.sha256)"
        ).fetchone()
        if dangling:
            raise _fail(f"{dangling} {table} rows refer to a missing blob")
    (count,) = db.execute("SELECT COUNT(*) FROM history").fetchone()
    if count < memory.history_total:
        raise _fail(f"history shrank from {memory.history_total} to {count} records")
    memory.history_total = int(count)
    return int(count)


# -- processes -------------------------------------------------------------------------


def live_of(url: str, tenant: str = "default", application: str = "default") -> dict[str, Any]:
    """gitsync's own live view of a unit (generation, config, history)."""
    response = httpx.get(
        f"{url}/api/gitsync/v1/tenant/{tenant}/application/{application}/live", timeout=30
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def history_of(url: str, tenant: str = "default", application: str = "default") -> list[Any]:
    response = httpx.get(
        f"{url}/api/gitsync/v1/tenant/{tenant}/application/{application}/history", timeout=30
    )
    response.raise_for_status()
    data: list[Any] = response.json()
    return data
