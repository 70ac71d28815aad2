"""Every test runs in its own empty working directory with a known environment: a fixed
git identity and no user or system git config, no colour, and none of gitsync's own
variables from the shell that runs the suite. All of it is undone after the test."""

from __future__ import annotations

import pytest

# Plain asserts in the support package report like asserts in tests: rewrite it too.
pytest.register_assert_rewrite("tests.testing")

from tests.testing.git import GIT_ENV  # noqa: E402

# The support package's fixtures (``repo``, ``start_agent``, ``live``, ...), in every folder.
pytest_plugins = (
    "tests.testing.git",
    "tests.testing.agent",
    "tests.testing.api",
    "tests.testing.postgres",
)

# Variables of the developer's shell that would change what gitsync or git does.
_UNSET = (
    "FORCE_COLOR",
    "GITSYNC_STATE_DIR",
    "GITSYNC_STORE",
    "GITSYNC_TOKEN",
    "GITSYNC_WEBHOOK_SECRET",
    "GITSYNC_GIT_USERNAME",
    "GITSYNC_GIT_PASSWORD",
    "GITSYNC_GIT_TOKEN",
    "GIT_DIR",
    "GIT_WORK_TREE",
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("NO_COLOR", "1")
    for key in _UNSET:
        monkeypatch.delenv(key, raising=False)
    # A command that falls back to ./.gitsync writes here, never into the checkout.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
