"""``gitsync engine`` as a real process on 127.0.0.1, stopped by pid only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.testing.tools import gitsync_command
from tests.testing.wait import WAIT_S, answers, free_port, wait_until


class EngineProcess:
    """``gitsync engine`` as a real process on a fixed 127.0.0.1 port (kept across restarts)."""

    def __init__(
        self,
        state_dir: Path,
        log: Path,
        *,
        token: str | None = None,
        extra: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.extra = list(extra)  # more options, e.g. --store URL
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.token = token
        self.env = dict(env) if env is not None else None  # the whole environment; None: ours
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> EngineProcess:
        args = ["engine", "--listen", f"127.0.0.1:{self.port}", "--state-dir", str(self.state_dir)]
        if self.token:
            args += ["--token", self.token]
        args += self.extra
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                gitsync_command(*args), stdout=out, stderr=out, env=self.env
            )
        wait_until(self._healthy, "the engine to answer")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"engine exited with {self.proc.returncode}: {self.log.read_text()}")
        return answers(self.url + "/state/v1/health")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=WAIT_S)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def running_engine(
    state_dir: Path, log: Path, *, token: str | None = None
) -> Iterator[EngineProcess]:
    engine = EngineProcess(state_dir, log, token=token).start()
    try:
        yield engine
    finally:
        engine.stop()
