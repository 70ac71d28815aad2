"""Fixtures for the API tests live in apifixtures.py (a uniquely named module, so
test modules can import its helpers too)."""

from __future__ import annotations

from apifixtures import http, live, zip_package  # noqa: F401  (pytest finds fixtures by name)
