"""What the web page needs from an agent, as an interface the agent implements.

``gitsync/api`` must not import ``gitsync/agent``: the agent builds an object with these
methods and stores it on the app (``app.state.ui_agent``) when it mounts its routes on
the app ``api`` builds. Without one (a plain ``gitsync engine``) the page shows what the
engine knows and offers no "Sync now".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from gitsync.plan.diff import Plan


@dataclass(frozen=True)
class PendingChange:
    """What a sync of the source would do now: the plan from the source's ``revision``
    to the live ``generation`` it was computed against."""

    revision: str
    generation: int
    plan: Plan


class AgentView(Protocol):
    """The agent's side of the page: one deployment unit, its status and its triggers."""

    @property
    def tenant(self) -> str: ...

    @property
    def application(self) -> str: ...

    def status(self) -> Mapping[str, Any]:
        """The agent's status, as ``GET /api/gitsync/status`` answers it."""
        ...

    def pending(self) -> PendingChange | None:
        """The newest plan the agent computed, None before its first valid snapshot."""
        ...

    def version(self) -> int:
        """Grows whenever the status changes (a reconcile finished): the live pages'
        cheap poll compares it."""
        ...

    def request_sync(self, *, revert_drift: bool) -> int:
        """Ask for a reconcile now (``revert_drift``: also deploy over a drifted live
        state, as ``--self-heal`` would); returns a ticket for :meth:`wait`."""
        ...

    def wait(self, ticket: int, timeout_s: float) -> bool:
        """Wait until the reconcile behind ``ticket`` has finished."""
        ...


def agent_view(request: Request) -> AgentView | None:
    view: AgentView | None = getattr(request.app.state, "ui_agent", None)
    return view
