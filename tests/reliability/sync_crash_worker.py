"""Step-wise syncs until killed: the subject of the engine crash loop.

Usage: ``python -m tests.reliability.sync_crash_worker STATE_DIR SEED MAX_SYNCS``.
Prints ``READY`` once the engine is open, then per sync ``SYNC unit phase`` before it starts and ``ACTIVATED unit
generation`` once activation returned. Each sync goes create session → upload a file →
prepare → activate, as the Vespa API does; the parent SIGKILLs the worker at random
moments, and the worker also kills itself (SIGKILL, no cleanup) at the phase it
announced: after create, after upload, after prepare, or *inside* the activation
transaction, after a random number of its SQL statements.

Unlike ``tests/engine/crash_worker.py`` (``deploy_files`` in one call, killed only from
outside), this one reaches each step boundary and the middle of the transaction.
"""

from __future__ import annotations

import os
import random
import signal
import sys

from gitsync.engine import DeploySource, Engine
from tests.testing.reliability import serve_config

UNITS = ("default", "second", "third")
PHASES = ("none", "after-create", "after-upload", "after-prepare", "in-activate")
WEIGHTS = (6, 1, 1, 1, 2)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class ActivationTrap:
    """SIGKILL after the Nth SQL statement of the next activation transaction."""

    def __init__(self) -> None:
        self.armed_at: int | None = None
        self.seen = 0

    def arm(self, statement: int) -> None:
        self.armed_at, self.seen = statement, 0

    def __call__(self, sql: str) -> None:
        if self.armed_at is None:
            return
        self.seen += 1
        if self.seen >= self.armed_at:
            die()


def main() -> None:
    state_dir, seed, max_syncs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    trap = ActivationTrap()
    with Engine(state_dir) as engine:
        db = engine._store.sqlite_connection()  # the trap needs the SQL statements
        assert db is not None
        db.set_trace_callback(trap)
        print("READY", flush=True)
        for step in range(max_syncs):
            unit = rng.choice(UNITS)
            phase = rng.choices(PHASES, WEIGHTS)[0]
            print("SYNC", unit, phase, flush=True)
            files = {"serve.yaml": serve_config(rng, unit, f"{seed}-{step}")}
            info = engine.create_session_from_files("default", files, application=unit)
            if phase == "after-create":
                die()
            sid = info.session_id
            engine.put_content("default", sid, "code/data.txt", os.urandom(64))
            if phase == "after-upload":
                die()
            engine.prepare("default", sid, application=unit)
            if phase == "after-prepare":
                die()
            if phase == "in-activate":
                trap.arm(rng.randint(1, 18))  # ~4 reads, BEGIN, ~9 writes, COMMIT, a read
            source = DeploySource(revision=f"rev-{seed}-{step}", meta={"step": str(step)})
            result = engine.activate("default", sid, source=source)
            trap.armed_at = None
            print("ACTIVATED", unit, result.generation, flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
