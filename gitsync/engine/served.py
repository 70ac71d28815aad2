"""Where the process that holds a state directory serves its API.

A state directory has one writer (the engine's lock file). When that writer is an
agent or ``gitsync engine`` serving HTTP, it records its URL here, so that other
commands given the same ``--state-dir`` talk to it instead of failing on the lock.
The record counts only while the lock is held: a crashed server leaves nothing behind
that anyone would follow.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from gitsync.engine.store import LOCK_NAME

SERVED_FILE = "api.json"


def publish(state_dir: Path, url: str) -> None:
    """Record ``url`` as the API of this process (which holds the state directory)."""
    path = state_dir / SERVED_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "url": url}) + "\n")
    temporary.replace(path)


def withdraw(state_dir: Path) -> None:
    """Forget this process's record (on a clean stop)."""
    path = state_dir / SERVED_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def served_url(state_dir: Path) -> str | None:
    """The URL of the API serving ``state_dir``, None when no server holds it."""
    try:
        data = json.loads((state_dir / SERVED_FILE).read_text())
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or not _alive(pid) or not _lock_held(state_dir / LOCK_NAME):
        return None
    return url


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
