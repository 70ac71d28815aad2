"""Failover: three engines on one PostgreSQL, clients spreading deploys over them, and
engines SIGKILLed and restarted at random points. Afterwards: every deploy answered 200
is in history with the files it sent, generations strictly grow, history has no
duplicate, every refusal was a 409 or the killed engine's dropped connection, and the
active generation's files are whole."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gitsync.config import package
from gitsync.engine import Engine
from tests.testing.configs import serve_yaml
from tests.testing.engine import EngineProcess

pytestmark = pytest.mark.slow  # engine processes killed and restarted in a loop

KILLS = 6
UNITS = ("u0", "u1", "u2")


@dataclass
class Outcomes:
    accepted: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # generation -> sent
    conflicts: int = 0
    dropped: int = 0  # the engine died under the request: unknown outcome
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(nodes: list[EngineProcess], unit: str, stop: threading.Event, out: Outcomes) -> None:
    path = f"/api/gitsync/v1/tenant/default/application/{unit}/deploy"
    step = 0
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            step += 1
            body = serve_yaml((unit, f"/{unit}"), price=step)
            url = nodes[step % len(nodes)].url
            try:
                response = http.post(
                    url + path,
                    content=package.build_zip({"serve.yaml": body}),
                    headers={"Content-Type": "application/zip"},
                )
            except httpx.TransportError:
                with out.lock:
                    out.dropped += 1
                time.sleep(0.05)
                continue
            with out.lock:
                if response.status_code == 200:
                    generation = int(response.json()["generation"])
                    assert generation not in out.accepted, "a generation handed out twice"
                    out.accepted[generation] = (unit, body)
                elif response.status_code == 409:
                    out.conflicts += 1
                else:
                    out.unexpected.append(f"{response.status_code}: {response.text[:200]}")


def test_engines_killed_under_load_lose_nothing(
    tmp_path: Path, engines: tuple[str, list[EngineProcess]]
) -> None:
    url, nodes = engines
    rng = random.Random(16)
    out = Outcomes()
    stop = threading.Event()
    clients = [threading.Thread(target=client, args=(nodes, u, stop, out)) for u in UNITS]
    for thread in clients:
        thread.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.5))
            victim = rng.choice(nodes)
            victim.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            victim.start()
    finally:
        time.sleep(1.0)
        stop.set()
        for thread in clients:
            thread.join(timeout=120)
    assert not out.unexpected, out.unexpected
    assert len(out.accepted) > KILLS  # the clients really deployed between kills
    with Engine(tmp_path / "checker", store=url) as engine:
        seen: set[int] = set()
        for unit in UNITS:
            entries = engine.history("default", unit)
            generations = [entry.generation for entry in entries]
            assert generations == sorted(generations, reverse=True)  # strictly newest first
            assert len(set(generations)) == len(generations)
            seen.update(generations)
            mine = {g for g, (u, _) in out.accepted.items() if u == unit}
            assert mine <= set(generations), "an acknowledged activation is missing"
            for generation in mine:
                files = engine.generation_files("default", unit, generation)
                assert files["serve.yaml"] == out.accepted[generation][1]
            active = engine.get_application("default", unit).generation
            assert active == generations[0]
            live = engine.live("default", unit)
            assert live.config is not None and [a["name"] for a in live.config["applications"]] == [
                unit
            ]
        # No generation is in two units' histories (ids come from one sequence).
        assert sum(len(engine.history("default", u)) for u in UNITS) == len(seen)
