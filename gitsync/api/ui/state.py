"""What the page keeps per app: its auth secrets, engine reads and plans."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from markupsafe import Markup
from starlette.requests import Request

from gitsync.api.ui.auth import UiAuth
from gitsync.api.ui.plans import PlanStore
from gitsync.api.ui.reads import EngineReads
from gitsync.engine import Engine

_KEEP = 64


class Fragments:
    """Rendered page parts that depend only on the engine's state (not on the caller):
    one per key, replaced when the state stamp moves."""

    def __init__(self) -> None:
        self._items: dict[Hashable, tuple[Hashable, Markup]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: Hashable, render: Callable[[], Markup]) -> Markup:
        with self._lock:
            cached = self._items.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        html = render()
        with self._lock:
            if len(self._items) >= _KEEP:
                self._items.clear()
            self._items[key] = (stamp, html)
        return html


class PageState:
    """Stored as ``app.state.ui`` by ``create_app``."""

    def __init__(self, engine: Engine, token: str | None) -> None:
        self.engine = engine
        self.auth = UiAuth(token)
        self.reads = EngineReads(engine)
        self.plans = PlanStore()
        self.fragments = Fragments()


def page_state(request: Request) -> PageState:
    state: PageState = request.app.state.ui
    return state
