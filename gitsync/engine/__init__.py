"""The embedded engine: a Vespa-style config server over SQLite (DESIGN.md §1-4).

Use :class:`Engine` (``with Engine(state_dir) as engine: ...``); everything it returns
is a record from :mod:`gitsync.engine.records`.
"""

from __future__ import annotations

from gitsync.engine.engine import SERVE_API_CONFIG_FILE, Engine
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
from gitsync.engine.runtime import NO_RUNTIME_MESSAGE, NoneRuntime, Runtime

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
