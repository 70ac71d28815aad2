"""Races: two remote agents and direct API writers against one real
engine. Every activation either wins or gets 409 ACTIVATION_CONFLICT; the final state
is the last winner's; no history record is lost; the agents converge (one of them
active, the other a standby on the unit's lease)."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitsync.config import package
from tests.testing.agent import AgentProcess
from tests.testing.engine import running_engine
from tests.testing.git import WorkRepo
from tests.testing.reliability import history_of, live_of, serve_config
from tests.testing.wait import wait_until

V2 = "/application/v2/tenant/default"


class Writer(threading.Thread):
    """Vespa-style create → prepare → activate (or a Serve PUT) in a loop."""

    def __init__(self, url: str, name: str, rounds: int, seed: int) -> None:
        super().__init__(name=name, daemon=True)
        self.url, self.rounds = url, rounds
        self.rng = random.Random(seed)
        self.wins: dict[int, str] = {}  # generation -> marker
        self.conflicts = 0
        self.serve_markers: set[str] = set()
        self.unexpected: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            for round_no in range(self.rounds):
                marker = f"{self.name}-{round_no}"
                try:
                    if self.rng.random() < 0.25:
                        self._serve_put(http, marker)
                    else:
                        self._vespa(http, marker)
                except httpx.HTTPError as exc:
                    self.unexpected.append(f"{marker}: {exc!r}")

    def _vespa(self, http: httpx.Client, marker: str) -> None:
        body = package.build_zip({"serve.yaml": serve_config(self.rng, "default", marker)})
        created = http.post(
            V2 + "/session", content=body, headers={"Content-Type": "application/zip"}
        )
        if created.status_code != 200:
            self.unexpected.append(f"{marker}: create {created.status_code} {created.text}")
            return
        sid = created.json()["session-id"]
        prepared = http.put(f"{V2}/session/{sid}/prepared")
        if prepared.status_code != 200:
            self.unexpected.append(f"{marker}: prepare {prepared.status_code} {prepared.text}")
            return
        active = http.put(f"{V2}/session/{sid}/active")
        self._record(active, int(sid), marker)

    def _serve_put(self, http: httpx.Client, marker: str) -> None:
        config = yaml.safe_load(serve_config(self.rng, "default", marker))
        response = http.put("/api/serve/applications/", json=config)
        if response.status_code == 200:
            self.serve_markers.add(marker)  # Serve PUT is create+prepare+activate at once
        else:
            self.unexpected.append(f"{marker}: serve PUT {response.status_code} {response.text}")

    def _record(self, response: httpx.Response, sid: int, marker: str) -> None:
        if response.status_code == 200:
            self.wins[sid] = marker
        elif response.status_code == 409 and response.json()["error-code"] == "ACTIVATION_CONFLICT":
            self.conflicts += 1
        else:
            self.unexpected.append(f"{marker}: activate {response.status_code} {response.text}")


def markers_of(config: dict[str, Any] | None) -> set[str]:
    apps: list[dict[str, Any]] = (config or {}).get("applications") or []
    return {
        str(d["user_config"]["marker"])
        for app in apps
        for d in app.get("deployments", [])
        if isinstance(d.get("user_config"), dict)
    }


def run_writers(url: str, count: int, rounds: int, seed: int) -> list[Writer]:
    writers = [Writer(url, f"w{i}", rounds, seed * 100 + i) for i in range(count)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=600)
    return writers


def test_direct_writers_race_each_wins_or_conflicts_and_the_last_winner_stays(
    tmp_path: Path,
) -> None:
    with running_engine(tmp_path / "state", tmp_path / "engine.log") as engine:
        writers = run_writers(engine.url, count=4, rounds=12, seed=1)
        assert [w.unexpected for w in writers] == [[]] * 4
        wins = {g: m for w in writers for g, m in w.wins.items()}
        vespa_wins = {g for w in writers for g in w.wins}
        assert sum(w.conflicts for w in writers) > 0  # the race really happened
        history = {e["generation"]: e for e in history_of(engine.url)}
        assert vespa_wins <= set(history)  # no winner's record is lost
        live = live_of(engine.url)
        assert live["generation"] == max(history)
        serve_markers = set().union(*(w.serve_markers for w in writers))
        last = live["generation"]
        expected = {wins[last]} if last in wins else serve_markers
        assert markers_of(live["config"]) <= expected and markers_of(live["config"])


@pytest.mark.slow
def test_two_agents_and_writers_race_then_the_agents_converge(tmp_path: Path) -> None:
    rng = random.Random(5)
    repo = WorkRepo(tmp_path / "repo")
    head = repo.commit("change", {"serve.yaml": serve_config(rng, "default", "source-0")})
    with running_engine(tmp_path / "state", tmp_path / "engine.log") as engine:
        agents = [
            AgentProcess(
                [
                    str(repo.path),
                    "--ref",
                    "main",
                    "--engine",
                    engine.url,
                    "--interval",
                    "0.05",
                    "--self-heal",
                    "--allow-mass-prune",
                ],
                tmp_path / f"agent{i}",
                tmp_path / f"agent{i}.log",
            )
            for i in range(2)
        ]
        try:
            wait_until(lambda: all(a.published_url() for a in agents), "both agents to start")
            writers = [Writer(engine.url, f"w{i}", 10, 50 + i) for i in range(3)]
            for writer in writers:
                writer.start()
            for step in range(1, 6):  # the source moves during the race too
                head = repo.commit(
                    "change", {"serve.yaml": serve_config(rng, "default", f"source-{step}")}
                )
            for writer in writers:
                writer.join(timeout=600)
            assert [w.unexpected for w in writers] == [[]] * 3
            vespa_wins = {g for w in writers for g in w.wins}
            # The agents converge on the source's last commit and say so.
            wait_until(
                lambda: (live_of(engine.url)["history"] or [{}])[0].get("revision") == head,
                "the agents to deploy the last commit",
            )
            live = live_of(engine.url)
            assert markers_of(live["config"]) == {"source-5"}
            statuses = [
                agent.wait_status(
                    lambda s: (
                        bool(s["lastSync"])
                        and (
                            s["lastSync"]["result"] == "standby"
                            or (
                                s["lastSync"]["result"] == "in-sync"
                                and s["revisions"]["applied"] in (head, None)
                            )
                        )
                    ),
                    "each agent to report in-sync, or standby",
                )
                for agent in agents
            ]
            assert sorted(s["lease"]["role"] for s in statuses) == ["active", "standby"]
            history = {e["generation"] for e in history_of(engine.url)}
            assert vespa_wins <= history
        finally:
            for agent in agents:
                agent.kill()
