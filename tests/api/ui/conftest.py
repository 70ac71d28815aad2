"""Fixtures for the web page's tests live in uifixtures.py (importable by test files)."""

from __future__ import annotations

from uifixtures import browser  # noqa: F401  (pytest finds fixtures by name)
