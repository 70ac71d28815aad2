"""The engine reads behind the pages, kept per engine state version.

With the ``none`` runtime a unit's live state changes only when the engine commits, so
reads are reused until ``state_version`` moves (the Serve GET does the same). A managed
runtime (Ray) changes under the engine, so its reads are kept for one second only.
"""

from __future__ import annotations

import threading
import time

from gitsync.engine import Engine
from gitsync.engine.records import AppId, HistoryEntry, ServeState
from gitsync.errors import NotFound

MANAGED_TTL_S = 1.0
_KEEP = 64


class EngineReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._live: dict[AppId, tuple[tuple[int, float], ServeState | None]] = {}
        self._history: dict[AppId, tuple[int, list[HistoryEntry]]] = {}
        self._units: tuple[int, list[AppId]] | None = None

    def stamp(self) -> tuple[int, float]:
        """Equal stamps mean equal live state."""
        version = self.engine.state_version
        if self.engine.runtime.name == "none":
            return version, 0.0
        return version, time.monotonic() // MANAGED_TTL_S

    def units(self) -> list[AppId]:
        version = self.engine.state_version
        cached = self._units
        if cached is not None and cached[0] == version:
            return cached[1]
        engine = self.engine
        found = [
            app for tenant in engine.list_tenants() for app in engine.list_applications(tenant)
        ]
        self._units = (version, found)
        return found

    def live(self, unit: AppId) -> ServeState | None:
        """The unit's live state; None when its tenant does not exist (yet)."""
        stamp = self.stamp()
        with self._lock:
            cached = self._live.get(unit)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            state: ServeState | None = self.engine.live(
                unit.tenant, unit.application, unit.instance
            )
        except NotFound:
            state = None
        with self._lock:
            if len(self._live) >= _KEEP:
                self._live.clear()
            self._live[unit] = (stamp, state)
        return state

    def active_generation(self, unit: AppId) -> int:
        """The unit's active generation (0: none) without reading its live state."""
        try:
            return self.engine.get_application(
                unit.tenant, unit.application, unit.instance
            ).generation
        except NotFound:
            if unit.tenant not in self.engine.list_tenants():
                raise
            return 0

    def history(self, unit: AppId) -> list[HistoryEntry]:
        version = self.engine.state_version
        with self._lock:
            cached = self._history.get(unit)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            entries = self.engine.history(unit.tenant, unit.application, unit.instance)
        except NotFound:
            entries = []
        with self._lock:
            if len(self._history) >= _KEEP:
                self._history.clear()
            self._history[unit] = (version, entries)
        return entries
