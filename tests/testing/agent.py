"""``gitsync agent`` as a real process with its API on 127.0.0.1, and the small
application YAML the agent tests commit. Every wait is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitsync.agent.lock import lock_path
from tests.testing.tools import gitsync_command
from tests.testing.wait import WAIT_S, wait_until


class AgentProcess:
    """``gitsync agent ARGS`` as a real process with its API on an ephemeral 127.0.0.1
    port, for the default unit; stopped or killed by its pid only."""

    def __init__(
        self,
        args: list[str],
        state_dir: Path,
        log: Path,
        env: dict[str, str] | None = None,
        listen: str = "127.0.0.1:0",
    ) -> None:
        self.state_dir = state_dir
        self.log = log
        command = gitsync_command("agent", *args, "--state-dir", str(state_dir), "--listen", listen)
        with log.open("ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.url = ""

    def published_url(self) -> str | None:
        """The URL this process wrote into its lock file (whichever unit), once it has."""
        for info_file in lock_path(self.state_dir, "-", "-").parent.glob("*.lock"):
            try:
                info = json.loads(info_file.read_text() or "{}")
            except (OSError, ValueError):
                continue
            url = info.get("url")
            if info.get("pid") == self.proc.pid and isinstance(url, str):
                return url
        return None

    def wait_started(self) -> AgentProcess:
        def started() -> str | None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited with {self.proc.returncode}:\n{self.output()}")
            return self.published_url()

        self.url = wait_until(started, "the agent's API URL")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_output(self, text: str) -> None:
        """Until ``text`` appears in the agent's output (e.g. its standby line)."""

        def seen() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited with {self.proc.returncode}:\n{self.output()}")
            return text in self.output()

        wait_until(seen, f"{text!r} in the agent's output", show=self.output)

    def lease(self) -> dict[str, Any]:
        """The status's ``lease``: this agent's role and who holds the unit."""
        lease: dict[str, Any] = self.status()["lease"]
        return lease

    def status(self) -> dict[str, Any]:
        if not self.url:
            self.wait_started()
        response = httpx.get(self.url + "/api/gitsync/status", timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def wait_status(self, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """Poll the status until ``check`` accepts it; fail showing the last one."""
        last: dict[str, Any] = {}

        def accepted() -> dict[str, Any] | None:
            nonlocal last
            last = self.status()
            return last if check(last) else None

        try:
            return wait_until(accepted, what)
        except TimeoutError:
            pytest.fail(f"timed out waiting for {what}; status: {json.dumps(last, indent=1)}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the agent and return its exit code (-9 if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT_S)


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    started: list[AgentProcess] = []

    def start(
        *args: str,
        state_dir: Path | None = None,
        name: str = "agent",
        listen: str = "127.0.0.1:0",
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> AgentProcess:
        """``wait=False``: do not wait for the API (a standby on a held state directory
        serves none until it takes over)."""
        agent = AgentProcess(
            list(args),
            state_dir or tmp_path / "state",
            tmp_path / f"{name}.log",
            {**os.environ, **(env or {})},
            listen,
        )
        started.append(agent)  # before waiting: a failed start is still cleaned up
        return agent.wait_started() if wait else agent

    yield start
    for agent in started:
        agent.kill()
