"""The big-stack worker: one thread, started once, that hands each caller its own result."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time

import pytest

from gitsync.config import yamlio
from gitsync.config.stack_worker import StackWorker


def test_jobs_run_on_one_worker_thread_with_the_asked_stack_size() -> None:
    worker = StackWorker(8 * 1024 * 1024, "test-stack")
    seen = {worker.run(lambda: threading.get_ident()) for _ in range(5)}
    assert len(seen) == 1
    assert seen != {threading.get_ident()}
    # the process-wide setting for new threads is back to what it was
    assert threading.stack_size() == 0


def test_a_jobs_exception_reaches_its_caller_and_the_worker_goes_on() -> None:
    worker = StackWorker(1024 * 1024, "test-stack")

    def fail() -> int:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        worker.run(fail)
    assert worker.run(lambda: 42) == 42


def test_concurrent_callers_each_get_their_own_result() -> None:
    worker = StackWorker(1024 * 1024, "test-stack")
    results: dict[int, int] = {}

    def call(index: int) -> None:
        for step in range(200):
            results[index] = worker.run(functools.partial(int, index * 1000 + step))
            assert results[index] == index * 1000 + step

    threads = [threading.Thread(target=call, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {index: index * 1000 + 199 for index in range(4)}


def test_a_forked_child_starts_its_own_worker() -> None:
    assert yamlio.load(b"a: 1\n", "f.yaml") == {"a": 1}  # the parent's worker runs
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker thread did not survive the fork
        ok = yamlio.load(b"b: [1, 2]\n", "f.yaml") == {"b": [1, 2]}
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    done, status = os.waitpid(pid, os.WNOHANG)
    while done == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:  # a child waiting on a worker that does not exist: hung
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert done == pid and os.waitstatus_to_exitcode(status) == 0
