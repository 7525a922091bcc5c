"""Hook-delivery health: hook-eligible events that only the System Log API brought in.

Each stored event remembers where its first copy came from in ``delivery_id``: an event-hook
delivery carries Okta's ``eventId``, a System Log page ``systemlog:...`` (backfill and polling),
files ``NULL``. The store keeps the first copy of a ``uuid`` and the poller stays
``poll_lag_seconds`` behind real time, so a hook-eligible event whose first copy is
``systemlog:...`` is one the hook did not deliver in time: a gap (the ``hook_gaps`` view, one
row per missed event, so an alert rule counts it like any other view).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from okta_alerts.read.connect import connect


def hook_gaps_by_hour(
    con: duckdb.DuckDBPyConnection, since: datetime
) -> list[tuple[datetime, str, int]]:
    """(hour, event_type, missed) for the hours since ``since``, oldest first."""
    rows = con.execute(
        "SELECT hour, event_type, count(*) FROM hook_gaps WHERE published >= ? "
        "GROUP BY ALL ORDER BY hour, event_type",
        [since],
    ).fetchall()
    return [(hour, event_type, int(missed)) for hour, event_type, missed in rows]


def hook_gaps_count(con: duckdb.DuckDBPyConnection, since: datetime) -> int:
    row = con.execute("SELECT count(*) FROM hook_gaps WHERE published >= ?", [since]).fetchone()
    return int(row[0]) if row else 0


def hook_health(data_dir: Path, hours: int = 24) -> dict[str, Any]:
    """Missed events in the last ``hours``, total and per hour."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    con = connect(data_dir)
    try:
        by_hour = hook_gaps_by_hour(con, since)
    finally:
        con.close()
    return {
        "missed": sum(n for _, _, n in by_hour),
        "by_hour": [
            {"hour": hour.isoformat(), "event_type": kind, "missed": n} for hour, kind, n in by_hour
        ],
    }
