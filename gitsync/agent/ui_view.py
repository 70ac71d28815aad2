"""The agent as the web page sees it (``gitsync.api.ui.provider.AgentView``).

The agent stores one on the app ``api`` builds, so the page can show the agent's status,
its pending plan and the last sync's error, and offer "Sync now" and "Refresh".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitsync.agent.loop import Agent
from gitsync.api.ui.provider import PendingChange


class AgentUiView:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    @property
    def tenant(self) -> str:
        return self._agent.config.tenant

    @property
    def application(self) -> str:
        return self._agent.config.application

    def status(self) -> Mapping[str, Any]:
        return self._agent.status.to_json()

    def pending(self) -> PendingChange | None:
        latest = self._agent.pending()
        if latest is None:
            return None
        revision, generation, proposal = latest
        return PendingChange(revision, generation, proposal.plan)

    def version(self) -> int:
        return self._agent.status.reconciles

    def request_sync(self, *, revert_drift: bool) -> int:
        return self._agent.request("sync" if revert_drift else "manual")

    def wait(self, ticket: int, timeout_s: float) -> bool:
        return self._agent.wait_for(ticket, timeout_s)
