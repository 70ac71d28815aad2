"""One long-lived thread with a stack of a chosen size, for work that recurses deeply in
native code (the fast YAML parser). Starting a thread for each call costs more than
parsing a small file (~80 µs, and a GIL hand-over each way on a busy process); this
thread is started once and fed through a queue. Callers wait for their own job only.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()  # released by the worker when the job has run


class StackWorker:
    """``run(fn)`` calls ``fn`` on the worker thread and returns its result (or raises
    its exception). The thread starts on first use, and again in a forked child (a
    fork keeps only the thread that forked)."""

    def __init__(self, stack_bytes: int, name: str) -> None:
        self._stack_bytes = stack_bytes
        self._name = name
        self._start_lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job[object]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def run(self, fn: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return fn()  # a job that asks again must not wait on itself
        job = _Job(fn)
        self._ensure_started()
        self._jobs.put(job)  # type: ignore[arg-type]
        job.done.acquire()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _ensure_started(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._start_lock, _STACK_SIZE_LOCK:
            if self._thread is not None and self._pid == os.getpid():
                return
            if self._pid != os.getpid():  # forked: the parent's queue and thread are not ours
                self._jobs = queue.SimpleQueue()
                self._pid = os.getpid()
            # stack_size applies to the threads started while it is set.
            previous = threading.stack_size(self._stack_bytes)
            try:
                thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                thread.start()
            finally:
                threading.stack_size(previous)
            self._thread = thread

    def _serve(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            try:
                job.result = job.fn()
            except BaseException as exc:  # handed to the caller, who raises it
                job.error = exc
            finally:
                job.done.release()


# threading.stack_size is process-wide: whoever starts a sized thread holds this.
_STACK_SIZE_LOCK = threading.Lock()
