"""okta-alerts: Okta event hooks into DuckDB, analytics notebooks and chat alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    import duckdb


def connect(data_dir: Any = None) -> duckdb.DuckDBPyConnection:
    """Open a read-only connection with the ``events``, ``lockouts``, ``unlocks`` and
    ``assignment_errors`` views over the sealed data in ``data_dir`` (default: the configured one).
    """
    from okta_alerts.reader import connect as _connect

    return _connect(data_dir)


__all__ = ["__version__", "connect"]
