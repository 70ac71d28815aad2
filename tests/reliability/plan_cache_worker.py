"""One engine process over a state directory: open, deploy a one-application config, read
it back, close. The plan cache suite runs it on a hostile plan file, under a timeout.

Usage: ``python -m tests.reliability.plan_cache_worker STATE_DIR PRICE``. Prints one JSON
line: the generation deployed, the live generation, its application's name, route prefix
and price, and the bytes the
process read while the engine ran (``rchar`` of ``/proc/self/io``: every ``read``, of
files, pipes and devices alike). SQLAlchemy and the plan compiler are loaded before
counting, so a run that compiles reads about as much as one that does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gitsync.engine.store.plan_compiler  # noqa: F401  (loaded before counting)
from gitsync.engine import Engine
from tests.testing.configs import serve_yaml


def bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "rchar":
            return int(value)
    raise RuntimeError("/proc/self/io has no rchar")


def main(state: Path, price: int) -> dict[str, object]:
    before = bytes_read()
    with Engine(state) as engine:
        files = {"serve.yaml": serve_yaml(("app1", "/a"), price=price)}
        deployed = engine.deploy_files(files, tenant="default", application="default")
        live = engine.live()
    read = bytes_read() - before
    assert live.config is not None
    (app,) = live.config["applications"]
    return {
        "deployed": deployed.generation,
        "live": live.generation,
        "app": [app["name"], app["route_prefix"]],
        "price": app["deployments"][0]["user_config"]["price"],
        "read": read,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]))))
