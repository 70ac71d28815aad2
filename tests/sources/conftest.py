"""Fixtures for the source tests live in gitfixtures.py (a uniquely named module, so
that test files can import its helpers)."""

from __future__ import annotations

from gitfixtures import (  # noqa: F401  (pytest finds fixtures by name)
    cache_dir,
    closed_port,
    fixed_git_env,
    http_git,
    repo,
    silent_server,
)
