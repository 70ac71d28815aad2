"""The requests the git hooks make to a real agent process name the repository they are
about: an agent watching anything else does nothing and answers NOT_WATCHED with its
source (so a hook needs no status request first); one watching it does the work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.testing.agent import AgentProcess
from tests.testing.configs import app_yaml
from tests.testing.git import WorkRepo

Start = Callable[..., AgentProcess]


def test_a_request_about_another_repository_changes_nothing(
    tmp_path: Path, repo: WorkRepo, start_agent: Start
) -> None:
    first = repo.commit("one", {"apps/a.yaml": app_yaml("a", price=1)})
    agent = start_agent(str(repo.path), "--ref", "main", "--interval", "3600")
    agent.wait_status(lambda s: s["revisions"]["applied"] == first, "the first sync")
    reconciles = agent.status()["reconciles"]
    elsewhere = {"repository": str(tmp_path / "other.git"), "branch": "main", "path": ""}
    for path, params in (
        ("/api/gitsync/refresh", {"wait": "true", "timeout": "5", **elsewhere}),
        ("/api/gitsync/validate", {"revision": first, **elsewhere}),
        # the right repository, another branch or subpath: not what it watches either
        ("/api/gitsync/refresh", {**elsewhere, "repository": str(repo.path), "branch": "dev"}),
        ("/api/gitsync/refresh", {**elsewhere, "repository": str(repo.path), "path": "apps"}),
    ):
        answer = httpx.post(agent.url + path, params=params, content=b"", timeout=10)
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["error-code"] == "NOT_WATCHED"
        assert body["source"]["location"] == str(repo.path)
        assert body["source"]["ref"] == "main"
    assert agent.status()["reconciles"] == reconciles

    second = repo.commit("two", {"apps/a.yaml": app_yaml("a", price=2)})
    about = {"repository": str(repo.path / "." / ""), "branch": "main", "path": "/"}
    answer = httpx.post(
        agent.url + "/api/gitsync/refresh",
        params={"wait": "true", "timeout": "30", **about},
        timeout=40,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["revisions"]["applied"] == second
    assert agent.stop() == 0
