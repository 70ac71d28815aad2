"""Engines sharing one PostgreSQL database and a managed runtime: the lease holder
alone sends, whichever engine took the activation; a new holder resumes from what the
store records as sent, never sending a generation twice. The runtime here records what
it is told (the real Ray cluster is in tests/ray/test_ray_driver_failover.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from gitsync.engine import Engine
from gitsync.engine.records import AppId, AppLive, DeployedApp, JsonDict
from gitsync.engine.runtime import GateListener, GateOutcome, UnitDeploy
from gitsync.engine.runtime_lease import LEASE_TTL_S, RUNTIME_LEASE
from gitsync.engine.store import Store, locate
from tests.testing.configs import serve_yaml
from tests.testing.postgres import PostgresServer
from tests.testing.wait import wait_until

UNIT = AppId("default", "default", "default")
pytestmark = pytest.mark.slow  # waits out a lease's TTL


class RecordingRuntime:
    """A managed runtime that keeps what the engine asks of it."""

    name = "recording"

    def __init__(self) -> None:
        self.deployed: list[tuple[AppId, int, bool]] = []  # app, generation, gated
        self.adopted: list[tuple[AppId, int, bool]] = []
        self.driving: list[bool] = []
        self.listener: GateListener | None = None

    def deploy(self, unit: UnitDeploy) -> None:
        self.deployed.append((unit.app, unit.generation, unit.gate is not None))

    def adopt(self, unit: UnitDeploy) -> None:
        self.adopted.append((unit.app, unit.generation, unit.gate is not None))

    def set_driving(self, driving: bool) -> None:
        self.driving.append(driving)

    def set_listener(self, listener: GateListener) -> None:
        self.listener = listener

    def apply(self, app: AppId, config: Mapping[str, Any] | None) -> None:
        raise AssertionError("a managed runtime gets deploy, never apply")

    def live(self, app: AppId, deployed: Sequence[DeployedApp]) -> list[AppLive]:
        return []

    def drift(self, app: AppId) -> list[str]:
        return []

    def error(self) -> str | None:
        return None

    def instance(self) -> JsonDict | None:
        return None

    def close(self) -> None:
        return None


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    return postgres.create_database()


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[list[Engine]]:
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.close()


def open_engine(url: str, path: Path, engines: list[Engine]) -> tuple[Engine, RecordingRuntime]:
    runtime = RecordingRuntime()
    engine = Engine(path, runtime=runtime, store=url).open()
    engines.append(engine)
    return engine, runtime


def drives(engine: Engine) -> bool:
    status = engine.runtime_driver()
    return status is not None and status["thisEngine"] is True


def deploy(engine: Engine, price: int) -> int:
    files = {"serve.yaml": serve_yaml(("a", "/a"), price=price)}
    return engine.deploy_files(files).generation


def sent(url: str, path: Path) -> dict[AppId, tuple[int, int]]:
    store = Store(locate(path, url))
    store.open(time.time())
    try:
        return store.sent_generations()
    finally:
        store.close()


def test_the_holder_sends_what_another_engine_activated(
    url: str, tmp_path: Path, opened: list[Engine]
) -> None:
    first, first_runtime = open_engine(url, tmp_path / "a", opened)
    wait_until(lambda: drives(first), "the first engine to take the runtime lease")
    second, second_runtime = open_engine(url, tmp_path / "b", opened)
    assert not drives(second)
    generation = deploy(second, 1)
    wait_until(lambda: (UNIT, generation, True) in first_runtime.deployed, "the holder to send")
    assert second_runtime.deployed == []  # the other engine never sends...
    wait_until(lambda: (UNIT, generation, False) in second_runtime.adopted, "the other to adopt")
    assert sent(url, tmp_path / "x") == {UNIT: (generation, 1)}
    # ...and never acts on a verdict: the holder does.
    assert second_runtime.listener is not None
    second_runtime.listener(GateOutcome(UNIT, generation, False, "not the driver's word"))
    assert second.history("default")[0].health == "pending"

    first.close()  # a clean stop hands the lease over at once
    wait_until(lambda: drives(second), "the second engine to take over", 5)
    assert second.runtime_driver() is not None
    assert second.runtime_driver()["epoch"] == 2  # type: ignore[index]
    # It resumes from the record: adopted (still gated: no verdict yet), not sent again.
    assert (UNIT, generation, True) in second_runtime.adopted
    assert second_runtime.deployed == []
    newer = deploy(second, 2)
    assert second_runtime.deployed == [(UNIT, newer, True)]
    assert sent(url, tmp_path / "x") == {UNIT: (newer, 2)}


def test_a_new_holder_finishes_what_a_dead_one_left(
    url: str, tmp_path: Path, opened: list[Engine]
) -> None:
    engine, _ = open_engine(url, tmp_path / "a", opened)
    wait_until(lambda: drives(engine), "the engine to drive")
    deploy(engine, 1)
    engine.close()  # epoch 1 ends
    dead = Store(locate(tmp_path / "dead", url))
    dead.open(time.time())
    try:
        epoch = dead.claim_lease(RUNTIME_LEASE, "dead", "", time.time(), LEASE_TTL_S, None)
        assert epoch == 2
        survivor, runtime = open_engine(url, tmp_path / "c", opened)
        # Activated while the holder is dead: one it recorded as sent (it was sending
        # it when it died), one it never got to.
        under_way = deploy(survivor, 2)
        assert dead.record_sent(UNIT, under_way, RUNTIME_LEASE, "dead", epoch, time.time())
        files = {"serve.yaml": serve_yaml(("b", "/b"))}
        other = AppId("default", "other", "default")
        never_sent = survivor.deploy_files(files, application="other").generation
        time.sleep(1.0)
        assert runtime.deployed == [] and not drives(survivor)
        wait_until(lambda: drives(survivor), "the survivor to take over", LEASE_TTL_S + 5)
        # The one recorded is adopted, gated (its verdict is due), not sent again; the
        # other goes out once, gated.
        assert (UNIT, under_way, True) in runtime.adopted
        assert runtime.deployed == [(other, never_sent, True)]
        assert sent(url, tmp_path / "x") == {UNIT: (under_way, 2), other: (never_sent, 3)}
        # The dead holder, were it only slow, could record nothing now.
        assert not dead.record_sent(UNIT, 99, RUNTIME_LEASE, "dead", epoch, time.time())
    finally:
        dead.close()


def test_a_unit_deleted_while_nobody_drove_leaves_the_runtime_once(
    url: str, tmp_path: Path, opened: list[Engine]
) -> None:
    engine, _ = open_engine(url, tmp_path / "a", opened)
    wait_until(lambda: drives(engine), "the engine to drive")
    deploy(engine, 1)
    engine.close()
    dead = Store(locate(tmp_path / "dead", url))
    dead.open(time.time())
    try:
        assert dead.claim_lease(RUNTIME_LEASE, "dead", "", time.time(), LEASE_TTL_S, None) == 2
    finally:
        dead.close()
    survivor, runtime = open_engine(url, tmp_path / "c", opened)
    survivor.delete_application("default", "default")
    wait_until(lambda: drives(survivor), "the survivor to take over", LEASE_TTL_S + 5)
    assert runtime.deployed == [(UNIT, 0, False)]  # the removal, once
    assert sent(url, tmp_path / "x") == {UNIT: (0, 3)}
    time.sleep(0.5)  # later passes send nothing more
    assert runtime.deployed == [(UNIT, 0, False)]


def test_the_driver_steps_down_while_the_store_is_away_and_drives_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = PostgresServer().start()
    engines: list[Engine] = []
    try:
        url = server.create_database()
        engine, runtime = open_engine(url, tmp_path / "a", engines)
        wait_until(lambda: drives(engine), "the engine to drive")
        server.stop()
        # It cannot renew: it stops acting on its own clock, before the lease can end.
        wait_until(lambda: runtime.driving[-1] is False, "the driver to step down", 10)
        time.sleep(2.0)
        server.start()
        wait_until(lambda: runtime.driving[-1] is True and drives(engine), "it to drive again")
        generation = deploy(engine, 1)
        assert runtime.deployed[-1] == (UNIT, generation, True)
        # The outage is in the log a few times, not once per poll.
        failures = [r for r in caplog.records if "runtime lease" in r.getMessage()]
        assert 0 < len(failures) < 10, [r.getMessage() for r in failures]
    finally:
        for engine in engines:
            engine.close()
        server.remove()
