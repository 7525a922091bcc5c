"""okta-alerts: Okta event hooks into DuckDB, analytics notebooks and chat alerts.

``okta_alerts.connect()`` opens the store read-only with the ``events``, ``lockouts``,
``unlocks``, ``assignment_errors`` and ``hook_gaps`` views.
"""

from __future__ import annotations

from okta_alerts.read.connect import connect

__version__ = "0.2.0"

__all__ = ["__version__", "connect"]
