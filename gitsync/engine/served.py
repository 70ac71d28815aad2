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
from gitsync.localfile import open_lock_file, read_regular, write_replacing

SERVED_FILE = "api.json"
_MAX_BYTES = 64 * 1024  # a pid and a URL: anything bigger is not ours


def publish(state_dir: Path, url: str) -> None:
    """Record ``url`` as the API of this process (which holds the state directory)."""
    record = json.dumps({"pid": os.getpid(), "url": url}) + "\n"
    write_replacing(state_dir / SERVED_FILE, record.encode(), 0o644)


def withdraw(state_dir: Path) -> None:
    """Forget this process's record (on a clean stop)."""
    path = state_dir / SERVED_FILE
    with contextlib.suppress(OSError, ValueError, AttributeError, RecursionError):
        if json.loads(read_regular(path, _MAX_BYTES)).get("pid") == os.getpid():
            path.unlink()


def served_url(state_dir: Path) -> str | None:
    """The URL of the API serving ``state_dir``, None when no server holds it."""
    try:
        # Every command given the state directory reads it: a FIFO or a device there
        # must not stall them, a link must not lead them to a record elsewhere.
        data = json.loads(read_regular(state_dir / SERVED_FILE, _MAX_BYTES))
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
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
        fd = open_lock_file(path, os.O_RDONLY)
    except (OSError, ValueError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
