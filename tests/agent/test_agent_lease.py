"""One agent per unit across machines: two ``gitsync agent`` processes on one unit, one
holds the unit's lease and the other stands by; SIGKILL the holder and the standby
applies the next commit within the lease's TTL (plus a generous margin for a busy
machine). Three ways to share the unit: one SQLite state directory, one PostgreSQL
store under two embedded engines, one remote engine. A clean stop hands over at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.engine import EngineProcess
from tests.testing.git import WorkRepo
from tests.testing.postgres import PostgresServer
from tests.testing.tools import run_gitsync

Start = Callable[..., AgentProcess]
TTL_S = 3.0
MARGIN_S = 30.0  # the machine may be very busy: a bound against hanging, not a timing


def _applied(sha: str) -> Callable[[dict[str, object]], bool]:
    return lambda status: dict(status["revisions"]).get("applied") == sha  # type: ignore[call-overload]


def _args(repo: WorkRepo) -> list[str]:
    return [str(repo.path), "--ref", "main", "--interval", "0.3", "--lease-ttl", f"{TTL_S:g}"]


def _kill_and_take_over(
    repo: WorkRepo, holder: AgentProcess, standby: AgentProcess, *, wait_api: bool = False
) -> float:
    """SIGKILL ``holder``, commit, and return the seconds until ``standby`` applied it."""
    killed = time.monotonic()
    holder.proc.kill()
    holder.proc.wait(timeout=30)
    sha = repo.commit("after the kill", {"apps/a.yaml": app_yaml("a", price=99)})
    if wait_api:
        standby.wait_started()
    status = standby.wait_status(_applied(sha), "the standby to apply the next commit")
    elapsed = time.monotonic() - killed
    assert elapsed < TTL_S + MARGIN_S, f"took over after {elapsed:.1f} s"
    assert status["lease"]["role"] == "active"
    assert status["lastSync"]["result"] in ("applied", "in-sync")  # a poll may follow
    return elapsed


def _one_active(first: AgentProcess, second: AgentProcess) -> tuple[AgentProcess, AgentProcess]:
    """(holder, standby), once both agents have found their role."""
    roles = {}
    for agent in (first, second):
        lease = agent.wait_status(
            lambda s: s["lease"] is not None and s["lease"]["holder"] is not None,
            "the agent to know the unit's holder",
        )["lease"]
        roles[lease["role"]] = (agent, lease)
    assert set(roles) == {"active", "standby"}
    (holder, mine), (standby, theirs) = roles["active"], roles["standby"]
    assert theirs["holder"]["holder"] == mine["me"]  # the standby shows who holds the unit
    assert theirs["holder"]["info"]["url"] == holder.url
    assert standby.status()["lastSync"]["result"] == "standby"
    assert f"standby: unit default/default held by {mine['me']}" in standby.output()
    return holder, standby


@pytest.fixture
def first_commit(repo: WorkRepo) -> str:
    return repo.commit("one", {"apps/a.yaml": app_yaml("a", price=1)})


def test_a_second_agent_on_one_state_directory_stands_by_and_takes_over(
    tmp_path: Path, repo: WorkRepo, first_commit: str, start_agent: Start
) -> None:
    holder = start_agent(*_args(repo), name="a")
    holder.wait_status(_applied(first_commit), "the first sync")
    standby = start_agent(*_args(repo), name="b", wait=False)  # same state directory
    me = holder.lease()["me"]
    standby.wait_output(f"standby: unit default/default held by {me} ({holder.url})")
    epoch = holder.lease()["epoch"]
    assert holder.lease()["role"] == "active"

    _kill_and_take_over(repo, holder, standby, wait_api=True)
    assert standby.lease()["epoch"] > epoch  # the dead holder's lease expired, a new one

    shown = run_gitsync("status", "--state-dir", str(tmp_path / "state"), "--output", "json")
    assert shown.returncode == 0, shown.stderr
    assert '"holder": "' + standby.lease()["me"] + '"' in shown.stdout


def test_two_agents_on_postgresql_one_active_one_standby(
    tmp_path: Path,
    repo: WorkRepo,
    first_commit: str,
    start_agent: Start,
    postgres: PostgresServer,
) -> None:
    store = postgres.create_database()
    first = start_agent(*_args(repo), "--store", store, state_dir=tmp_path / "m1", name="a")
    second = start_agent(*_args(repo), "--store", store, state_dir=tmp_path / "m2", name="b")
    holder, standby = _one_active(first, second)
    holder.wait_status(_applied(first_commit), "the first sync")

    _kill_and_take_over(repo, holder, standby)
    history = httpx.get(
        standby.url + "/api/gitsync/v1/tenant/default/application/default/history", timeout=10
    ).json()
    generations = [entry["generation"] for entry in history]
    assert generations == sorted(set(generations), reverse=True)  # no duplicate, no reorder
    assert [entry["revision"] for entry in history][0] == repo.head()


def test_a_push_hook_that_finds_the_standby_names_the_holder(
    tmp_path: Path,
    repo: WorkRepo,
    first_commit: str,
    start_agent: Start,
    postgres: PostgresServer,
) -> None:
    """The hooks of a bare repository find the agent of their state directory; when that
    one stands by, the push is the holder's to apply: the hook names it and does not
    report a failure, and the holder applies the push on its next poll."""
    bare = repo.bare_clone(tmp_path / "deploy.git")
    store = postgres.create_database()
    args = [str(bare), "--ref", "main", "--interval", "0.3", "--lease-ttl", f"{TTL_S:g}"]
    first = start_agent(*args, "--store", store, state_dir=tmp_path / "m1", name="a")
    second = start_agent(*args, "--store", store, state_dir=tmp_path / "m2", name="b")
    holder, standby = _one_active(first, second)
    holder.wait_status(_applied(first_commit), "the first sync")
    state = tmp_path / ("m1" if standby is first else "m2")
    installed = run_gitsync("hook", "install", str(bare), "--state-dir", str(state))
    assert installed.returncode == 0, installed.stderr

    sha = repo.commit("pushed", {"apps/a.yaml": app_yaml("a", price=7)})
    pushed = repo.push(bare.as_uri())
    assert pushed.returncode == 0, pushed.stderr
    me = holder.lease()["me"]
    assert (
        f"remote: gitsync: the agent at {standby.url} stands by; {me} ({holder.url}) holds "
        f"the unit and applies {sha[:12]} on its next poll of this repository"
    ) in pushed.stderr
    assert "was not applied" not in pushed.stderr
    holder.wait_status(_applied(sha), "the holder to apply the push")


@pytest.fixture
def engine_process(tmp_path: Path) -> Iterator[EngineProcess]:
    engine = EngineProcess(tmp_path / "engine-state", tmp_path / "engine.log")
    try:
        yield engine.start()
    finally:
        engine.stop()


def test_two_agents_on_a_remote_engine_and_a_clean_stop_hands_over_at_once(
    tmp_path: Path,
    repo: WorkRepo,
    first_commit: str,
    start_agent: Start,
    engine_process: EngineProcess,
) -> None:
    remote = ["--engine", engine_process.url]
    first = start_agent(*_args(repo), *remote, state_dir=tmp_path / "m1", name="a")
    second = start_agent(*_args(repo), *remote, state_dir=tmp_path / "m2", name="b")
    holder, standby = _one_active(first, second)
    holder.wait_status(_applied(first_commit), "the first sync")
    shown = run_gitsync("status", "--engine", engine_process.url)
    assert shown.returncode == 0, shown.stderr
    assert f"agent: {holder.lease()['me']} ({holder.url})" in shown.stdout

    _kill_and_take_over(repo, holder, standby)

    # A clean stop releases the lease: a third agent takes over well inside a long TTL.
    third = start_agent(
        str(repo.path),
        *remote,
        "--ref",
        "main",
        "--interval",
        "0.3",
        "--lease-ttl",
        "60",
        state_dir=tmp_path / "m3",
        name="c",
    )
    third.wait_status(lambda s: s["lease"]["role"] == "standby", "the third agent to stand by")
    stopped = time.monotonic()
    assert standby.stop() == 0
    assert "lease released" in standby.output()
    sha = repo.commit("after the stop", {"apps/a.yaml": app_yaml("a", price=100)})
    third.wait_status(_applied(sha), "the third agent to take over")
    assert time.monotonic() - stopped < 45  # not the 60 s TTL: the lease was let go
