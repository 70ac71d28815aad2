"""Backoff, the poll schedule, the agent lock and the webhook signature check, on plain
objects."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import pytest

from gitsync.agent.lock import AgentLock, running_agent_url
from gitsync.agent.state import RevisionBackoff
from gitsync.agent.triggers import PollSchedule
from gitsync.agent.webhook import _Reject, verify
from gitsync.errors import LockHeld


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_per_failure_with_jitter_and_caps() -> None:
    clock = Clock()
    backoff = RevisionBackoff(1.0, 8.0, rng=lambda: 1.0, clock=clock)
    delays = [backoff.record_failure("bad") for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    low = RevisionBackoff(1.0, 8.0, rng=lambda: 0.0, clock=clock)
    assert [low.record_failure("bad") for _ in range(3)] == [0.5, 1.0, 2.0]


def test_backoff_blocks_only_the_failing_revision() -> None:
    clock = Clock()
    backoff = RevisionBackoff(4.0, 60.0, rng=lambda: 1.0, clock=clock)
    backoff.record_failure("bad")
    assert backoff.remaining("bad") == 4.0
    assert backoff.remaining("new") == 0.0
    clock.now += 3
    assert backoff.remaining("bad") == 1.0
    assert backoff.due_in() == 1.0
    clock.now += 1
    assert backoff.remaining("bad") == 0.0
    assert backoff.to_json() == {"revision": "bad", "failures": 1, "retryInSeconds": 0.0}
    backoff.record_failure("other")  # a different revision starts over
    assert backoff.failures == 1
    backoff.record_success()
    assert backoff.to_json() is None and backoff.due_in() is None


def test_poll_schedule_fires_and_redraws_its_jittered_interval() -> None:
    fired: list[float] = []
    poll = PollSchedule(0.05, 0.2, lambda: fired.append(time.monotonic()), rng=lambda: 1.0)
    assert poll.next_run() is None
    assert poll.idle_s() == 0.05
    poll.start()
    next_run = poll.next_run()
    assert next_run is not None and next_run > time.time() - 1
    deadline = time.monotonic() + 10
    while len(fired) < 2 and time.monotonic() < deadline:
        time.sleep(poll.idle_s())
        poll.run_pending()
    assert len(fired) == 2
    assert poll.current_interval_s == pytest.approx(0.06)  # 0.05 * (1 + 0.2 * 1.0)
    assert fired[1] - fired[0] >= 0.06
    with pytest.raises(ValueError, match="the poll interval must be positive"):
        PollSchedule(0, 0.2, lambda: None)


def test_agent_lock_is_exclusive_and_publishes_the_url(tmp_path: Path) -> None:
    with AgentLock(tmp_path, "t1", "app") as lock:
        assert running_agent_url(tmp_path, "t1", "app") is None  # no URL published yet
        lock.publish("http://127.0.0.1:1234")
        assert running_agent_url(tmp_path, "t1", "app") == "http://127.0.0.1:1234"
        with pytest.raises(LockHeld) as raised:
            AgentLock(tmp_path, "t1", "app").acquire()
        assert raised.value.message.startswith("another gitsync agent (pid ")
        AgentLock(tmp_path, "t1", "other").acquire().release()  # another unit is free
    assert running_agent_url(tmp_path, "t1", "app") is None


def test_signatures_are_checked_against_the_raw_body() -> None:
    body = b'{"ref": "refs/heads/main"}'
    digest = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert (
        verify({"x-hub-signature-256": f"sha256={digest}", "x-github-event": "push"}, body, "k")
        == "github"
    )
    assert (
        verify({"x-hub-signature-256": f"sha256={digest}", "x-gitea-event": "push"}, body, "k")
        == "gitea"
    )
    assert verify({"x-gitea-signature": digest}, body, "k") == "gitea"
    assert verify({"x-gitlab-token": "k"}, body, "k") == "gitlab"
    for headers in (
        {"x-hub-signature-256": f"sha1={digest}"},
        {"x-hub-signature-256": f"sha256={digest}"[:-1]},
        {"x-gitea-signature": "00"},
        {"x-gitlab-token": "K"},
        {},
    ):
        with pytest.raises(_Reject) as raised:
            verify(headers, body + (b" " if not headers else b""), "k")
        assert raised.value.status == 401


def test_the_automatic_retry_is_handed_out_once_per_failure() -> None:
    clock = Clock()
    backoff = RevisionBackoff(1.0, 8.0, rng=lambda: 1.0, clock=clock)
    assert not backoff.claim_retry()  # nothing failed
    backoff.record_failure("bad")
    assert not backoff.claim_retry()  # not due yet
    clock.now += 1
    assert backoff.claim_retry()
    assert not backoff.claim_retry()  # claimed: no loop while the source is down
    assert backoff.due_in() is None
    assert backoff.remaining("bad") == 0.0  # but a poll may try it
    backoff.record_failure("bad")
    assert backoff.due_in() == 2.0
