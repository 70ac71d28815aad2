"""Activations in a loop until killed: the subject of test_engine_crash.py.

Usage: ``python -m tests.engine.crash_worker STATE_DIR SEED``. Prints READY once the engine is open,
then one line per activation (the test kills it at a random point after the first).
"""

from __future__ import annotations

import random
import sys
import time

from gitsync.engine import DeploySource, Engine
from tests.testing.reliability import serve_config


def main() -> None:
    state_dir, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    with Engine(state_dir) as engine:
        print("READY", flush=True)
        step = 0
        deadline = time.monotonic() + 600  # the test kills it within a second; never outlive it
        while time.monotonic() < deadline:
            step += 1
            unit = rng.choice(["default", "second"])
            files = {
                "serve.yaml": serve_config(rng, unit),
                "code/data.txt": str(rng.random()).encode(),
            }
            if step % 7 == 0 and len(engine.history("default", unit)) > 1:
                result = engine.rollback("default", unit)
            else:
                source = DeploySource(revision=f"rev-{seed}-{step}", meta={"step": str(step)})
                result = engine.deploy_files(files, application=unit, source=source)
            print("ACTIVATED", unit, result.generation, flush=True)


if __name__ == "__main__":
    main()
