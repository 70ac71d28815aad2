"""SIGKILL at random points during a loop of activations: after every restart the
state holds either the old or the new generation of each unit, never a mix."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from gitsync.engine import Engine, SessionStatus
from tests.testing.tools import python_env
from tests.testing.wait import WAIT_S

WORKER = "tests.engine.crash_worker"  # run with python -m
ROUNDS = 20


def check_invariants(state: Path, last_generation: dict[str, int]) -> int:
    """Assert the invariants; return how many activations the store holds."""
    with Engine(state) as engine:  # reopening must work after any kill
        db = sqlite3.connect(state / "engine.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        active = db.execute("SELECT id FROM sessions WHERE status = 'ACTIVE'").fetchall()
        units = db.execute("SELECT application, session_id, config FROM applications").fetchall()
        # Exactly one ACTIVE session per unit, and it is the unit's session.
        assert sorted(a for (a,) in active) == sorted(sid for _, sid, _ in units)
        for unit, session_id, config_json in units:
            info = engine.get_session("default", session_id)
            assert info.status is SessionStatus.ACTIVE and info.app.application == unit
            record, session_config = db.execute(
                "SELECT prepared, config FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            prepared = json.loads(record)
            # The live config is the active package's config.
            assert config_json == session_config
            live = dict(
                db.execute(
                    "SELECT name, digest FROM serve_apps WHERE application = ?", (unit,)
                ).fetchall()
            )
            assert live == prepared["app_digests"]
            # History is complete up to the active generation; its package is the session's.
            history = engine.history("default", unit)
            assert history[0].generation == session_id
            files = {
                path: sha
                for path, sha in db.execute(
                    "SELECT path, sha256 FROM session_files WHERE session_id = ? "
                    "AND status != 'deleted'",
                    (session_id,),
                )
            }
            kept = dict(
                db.execute(
                    "SELECT path, sha256 FROM history_files WHERE application = ? "
                    "AND generation = ?",
                    (unit, session_id),
                ).fetchall()
            )
            assert files == kept
            # Generations only grow.
            assert session_id >= last_generation.get(unit, 0)
            last_generation[unit] = session_id
        # Every file a session or history record refers to exists.
        for table in ("session_files", "history_files"):
            missing = db.execute(
                f"SELECT COUNT(*) FROM {table} t WHERE t.sha256 IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM blobs b WHERE b.sha256 = t.sha256)"
            ).fetchone()[0]
            assert missing == 0, table
        count = db.execute("SELECT COUNT(*) FROM history").fetchone()[0]
        db.close()
        return int(count)


def test_sigkill_during_activations_never_tears_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    rng = random.Random(1234)
    last_generation: dict[str, int] = {}
    activations = 0
    for round_no in range(ROUNDS):
        worker = subprocess.Popen(
            [sys.executable, "-m", WORKER, str(state), str(round_no)],
            env=python_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        hung = threading.Timer(WAIT_S, worker.kill)  # a worker that never gets READY
        hung.start()
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "READY"
            # Kill at a random point after the first activation: the one before it pays
            # for warming up (imports, compiled statements) and would eat the window.
            assert worker.stdout.readline().startswith("ACTIVATED")
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            hung.cancel()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=WAIT_S)
        activations = check_invariants(state, last_generation)
    assert activations > ROUNDS  # the loop really ran between kills
