"""Fixtures for the agent tests live in agentfixtures.py (a uniquely named module, so
that test files can import its helpers)."""

from __future__ import annotations

from agentfixtures import start_agent, work  # noqa: F401  (pytest finds fixtures by name)
