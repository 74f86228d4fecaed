"""Fixtures for the compatibility tests: the service tests' clients over the emulated portal."""

from __future__ import annotations

from services.conftest import app, client

__all__ = ["app", "client"]
