"""Read-only access to the store: ``connect()`` and its views, read-only SQL, hook gaps."""

from __future__ import annotations

from okta_alerts.read.connect import connect

__all__ = ["connect"]
