"""Real git repositories, real agent processes and real HTTP on 127.0.0.1 for the agent
tests. Every wait is bounded; nothing here asserts on timing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitsync.agent.lock import lock_path

WAIT_S = 90.0  # generous: CI machines can be very busy; a pass is usually instant


def app_yaml(name: str, price: int = 1, route: str | None = None) -> str:
    return (
        f"name: {name}\n"
        f"route_prefix: {route or '/' + name}\n"
        "import_path: shop:app\n"
        "deployments:\n"
        "  - name: Stand\n"
        f"    user_config: {{price: {price}}}\n"
    )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


class WorkRepo:
    """A work tree on branch main that tests write, commit and push from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--initial-branch=main")

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        for rel, text in files.items():
            target = self.path / rel
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def bare_clone(self, dest: Path) -> Path:
        git(dest.parent, "clone", "--quiet", "--bare", str(self.path), str(dest))
        return dest

    def push(self, remote: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", *extra, remote, "HEAD:refs/heads/main"],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def work(tmp_path: Path) -> WorkRepo:
    return WorkRepo(tmp_path / "work")


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AgentProcess:
    """``gitsync agent`` as a real subprocess, with its API on an ephemeral port."""

    def __init__(self, args: list[str], state_dir: Path, log: Path, env: dict[str, str]) -> None:
        self.state_dir = state_dir
        self.log = log
        self._log_file = log.open("w")
        command = [sys.executable, "-m", "gitsync.main", "agent", *args]
        command += ["--state-dir", str(state_dir), "--listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(
            command, stdout=self._log_file, stderr=subprocess.STDOUT, env=env
        )
        self.url = ""

    def wait_started(self) -> AgentProcess:
        self.url = wait_until(self._url, "the agent's API URL")
        return self

    def _url(self) -> str | None:
        if self.proc.poll() is not None:
            pytest.fail(f"agent exited with {self.proc.returncode}:\n{self.output()}")
        info_file = lock_path(self.state_dir, "default", "default")
        try:
            info = json.loads(info_file.read_text() or "{}")
        except (OSError, ValueError):
            return None
        return info.get("url") if info.get("pid") == self.proc.pid else None

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text()

    def status(self) -> dict[str, Any]:
        response = httpx.get(self.url + "/api/gitsync/status", timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def wait_status(self, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            nonlocal last
            last = self.status()
            return last if check(last) else None

        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = probe()
            if found is not None:
                return found
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}; status: {json.dumps(last, indent=1)}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=WAIT_S)
        finally:
            self._log_file.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)
        if not self._log_file.closed:
            self._log_file.close()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    started: list[AgentProcess] = []

    def start(*args: str, state_dir: Path | None = None, name: str = "agent") -> AgentProcess:
        env = dict(os.environ)
        agent = AgentProcess(
            list(args), state_dir or tmp_path / "state", tmp_path / f"{name}.log", env
        )
        started.append(agent)  # before waiting: a failed start is still cleaned up
        return agent.wait_started()

    yield start
    for agent in started:
        agent.kill()
