"""What the page keeps per app: its auth secrets, engine reads and plans."""

from __future__ import annotations

from starlette.requests import Request

from gitsync.api.ui.auth import UiAuth
from gitsync.api.ui.plans import PlanStore
from gitsync.api.ui.reads import EngineReads
from gitsync.engine import Engine


class PageState:
    """Stored as ``app.state.ui`` by ``create_app``."""

    def __init__(self, engine: Engine, token: str | None) -> None:
        self.engine = engine
        self.auth = UiAuth(token)
        self.reads = EngineReads(engine)
        self.plans = PlanStore()


def page_state(request: Request) -> PageState:
    state: PageState = request.app.state.ui
    return state
