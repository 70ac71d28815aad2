"""Activations in a loop until killed: the subject of test_engine_crash.py.

Usage: python crash_worker.py STATE_DIR SEED. Prints READY once the engine is open,
then one line per activation (the test kills it at a random point after the first).
"""

from __future__ import annotations

import random
import sys
import time

from gitsync.engine import DeploySource, Engine


def config(rng: random.Random, unit: str) -> bytes:
    lines = ["applications:"]
    for index in range(rng.randint(1, 6)):
        lines += [
            f"  - name: {unit}-app{index}",
            f"    route_prefix: /{unit}/app{index}",
            "    import_path: mod:app",
            "    deployments:",
            "      - name: Model",
            f"        num_replicas: {rng.randint(1, 3)}",
            f"        user_config: {{price: {rng.randint(1, 1000)}}}",
        ]
    return ("\n".join(lines) + "\n").encode()


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
            files = {"serve.yaml": config(rng, unit), "code/data.txt": str(rng.random()).encode()}
            if step % 7 == 0 and len(engine.history("default", unit)) > 1:
                result = engine.rollback("default", unit)
            else:
                source = DeploySource(revision=f"rev-{seed}-{step}", meta={"step": str(step)})
                result = engine.deploy_files(files, application=unit, source=source)
            print("ACTIVATED", unit, result.generation, flush=True)


if __name__ == "__main__":
    main()
