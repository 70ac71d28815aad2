"""The embedded engine: a Vespa-style config server over SQLite (DESIGN.md §1-4).

Use :class:`Engine` (``with Engine(state_dir) as engine: ...``); everything it returns
is a record from :mod:`gitsync.engine.records`.

The records load with the package; the engine itself (and the store, with its SQL
toolkit) loads on first use of a name below: a process that only reads records (a hook
talking to a remote engine, the agent's client) never loads SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gitsync.engine.records import (
    ActivateResult,
    AppId,
    ApplicationInfo,
    AppLive,
    ChangeActions,
    DeployedApp,
    DeploymentLive,
    DeploySource,
    DirListing,
    FileContent,
    FileStatus,
    HistoryEntry,
    LogEntry,
    PrepareResult,
    ServeState,
    SessionInfo,
    SessionStatus,
)

if TYPE_CHECKING:
    from gitsync.engine.engine import SERVE_API_CONFIG_FILE, Engine
    from gitsync.engine.runtime import NO_RUNTIME_MESSAGE, NoneRuntime, Runtime

# name -> the module that defines it, imported when the name is first asked for.
_LAZY = {
    "Engine": "gitsync.engine.engine",
    "SERVE_API_CONFIG_FILE": "gitsync.engine.engine",
    "NO_RUNTIME_MESSAGE": "gitsync.engine.runtime",
    "NoneRuntime": "gitsync.engine.runtime",
    "Runtime": "gitsync.engine.runtime",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups find it without this function
    return value


__all__ = [
    "NO_RUNTIME_MESSAGE",
    "SERVE_API_CONFIG_FILE",
    "ActivateResult",
    "AppId",
    "AppLive",
    "ApplicationInfo",
    "ChangeActions",
    "DeploySource",
    "DeployedApp",
    "DeploymentLive",
    "DirListing",
    "Engine",
    "FileContent",
    "FileStatus",
    "HistoryEntry",
    "LogEntry",
    "NoneRuntime",
    "PrepareResult",
    "Runtime",
    "ServeState",
    "SessionInfo",
    "SessionStatus",
]
