"""One agent per (tenant, application): an exclusive ``flock`` under the state directory.

The lock file also records the agent's pid and API URL, so that a git post-receive
hook given the same state directory can find the running agent and ask it to sync.
The lock dies with the process, so a crashed agent never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from gitsync.errors import LockHeld, SourceError
from gitsync.localfile import NotRegularFile, open_lock_file, read_regular

AGENTS_DIR = "agents"
_MAX_BYTES = 64 * 1024  # a pid and a URL: anything bigger is not ours


def lock_path(state_dir: Path, tenant: str, application: str) -> Path:
    return state_dir / AGENTS_DIR / f"{tenant}.{application}.lock"


class AgentLock:
    """Held for the agent's lifetime; :meth:`publish` records where its API listens."""

    def __init__(self, state_dir: Path, tenant: str, application: str) -> None:
        self.path = lock_path(state_dir, tenant, application)
        self.tenant = tenant
        self.application = application
        self._fd: int | None = None

    def acquire(self) -> AgentLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The lock is written (pid and URL): never through a link or another name.
            fd = open_lock_file(self.path, os.O_RDWR, create=True)
        except NotRegularFile as exc:
            raise SourceError(
                f"cannot use the agent lock: {exc}; remove it (no agent holds it) and try again"
            ) from None
        except OSError as exc:
            raise SourceError(f"cannot create the agent lock {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_info(self.path).get("pid", "?")
            os.close(fd)
            raise LockHeld(
                f"another gitsync agent (pid {holder}) already manages tenant "
                f"'{self.tenant}', application '{self.application}' (lock file '{self.path}' is held)"
            ) from None
        self._fd = fd
        self.publish(None)
        return self

    def publish(self, url: str | None) -> None:
        """Write pid and API URL into the lock file (readers see a whole JSON line)."""
        if self._fd is None:
            return
        data = json.dumps({"pid": os.getpid(), "url": url}).encode() + b"\n"
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AgentLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_info(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_regular(path, _MAX_BYTES) or "{}")
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def running_agent_url(state_dir: Path, tenant: str, application: str) -> str | None:
    """The API URL of the agent holding the lock, None when no agent runs."""
    path = lock_path(state_dir, tenant, application)
    if not path.exists():
        return None
    try:
        fd = open_lock_file(path, os.O_RDONLY)  # a push hook asks: it must not wait here
    except (OSError, ValueError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        url = read_info(path).get("url")  # held: an agent is running
        return str(url) if url else None
    finally:
        os.close(fd)
    return None
