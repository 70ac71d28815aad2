"""The agent client's failures: a URL that is not one, and an agent that does not
answer (plain HTTP and TLS), are EngineUnavailable, so a hook does the work itself."""

from __future__ import annotations

import pytest

from gitsync.agent.client import AgentClient
from gitsync.errors import EngineUnavailable
from tests.testing.wait import free_port


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1/", "http://127.0.0.1:99999"])
def test_a_url_that_is_not_an_agents_is_unavailable(url: str) -> None:
    with pytest.raises(EngineUnavailable, match="is not an http"):
        AgentClient(url)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_agent_that_does_not_answer_is_unavailable(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{free_port()}"
    with AgentClient(url) as agent, pytest.raises(EngineUnavailable, match="cannot be reached"):
        agent.refresh(wait_s=1)
    with AgentClient(url) as agent, pytest.raises(EngineUnavailable, match="cannot be reached"):
        agent.validate(b"", "0" * 40, timeout_s=1)
