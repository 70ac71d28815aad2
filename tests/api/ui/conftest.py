"""The web page's browser lives in the shared support package."""

from __future__ import annotations

from tests.testing.ui import browser  # noqa: F401  (pytest finds fixtures by name)
