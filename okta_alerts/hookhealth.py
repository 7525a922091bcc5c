"""Hook-delivery health: hook-eligible events that only the System Log API brought in.

Each stored event remembers where its first copy came from in ``delivery_id``: an event-hook
delivery carries Okta's ``eventId``, a System Log page ``systemlog:...`` (backfill and polling),
files ``NULL``. The store keeps the first copy of a ``uuid`` and the poller stays
``poll_lag_seconds`` behind real time, so a hook-eligible event whose first copy is
``systemlog:...`` is one the hook did not deliver in time: a gap. Events published before the
hook's first delivery are not gaps (history backfilled before the hook was set up).

The ``hook_gaps`` view has one row per missed event — all ``events`` columns plus ``hour`` — so
an alert rule can count it like any other view.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_alerts.eventtypes import HOOK_ELIGIBLE, sql_list

if TYPE_CHECKING:
    import duckdb

    from okta_alerts.config import Settings

SYSTEMLOG = "systemlog:"

HOOK_GAPS_VIEW = f"""
CREATE VIEW hook_gaps AS
SELECT *, date_trunc('hour', published) AS hour
FROM events
WHERE starts_with(delivery_id, '{SYSTEMLOG}')
  AND event_type IN {sql_list(HOOK_ELIGIBLE)}
  AND published >= (
    SELECT min(published) FROM events
    WHERE delivery_id IS NOT NULL AND NOT starts_with(delivery_id, '{SYSTEMLOG}')
  )
"""


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


class HookGapsCache:
    """Missed events of the last 24 h, for ``/healthz`` and ``/metrics``, never blocking them.

    The view's query reads the whole store, far too slow for every health check: readers get
    :attr:`value` (None until the first computation), and whoever :meth:`claim_refresh` lets
    through runs :meth:`refresh` off the event loop, at most once every ``ttl`` seconds.
    """

    def __init__(self, data_dir: Path, ttl: float = 60.0, hours: int = 24) -> None:
        self.data_dir = data_dir
        self.ttl = ttl
        self.window = timedelta(hours=hours)
        self.value: int | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._claimed_at = float("-inf")

    def claim_refresh(self) -> bool:
        """True (once per ``ttl``) when the caller should run :meth:`refresh`."""
        with self._lock:
            if time.monotonic() - self._claimed_at < self.ttl:
                return False
            self._claimed_at = time.monotonic()
            return True

    def refresh(self) -> None:
        from okta_alerts.reader import connect

        try:
            con = connect(self.data_dir)
            try:
                self.value = hook_gaps_count(con, datetime.now(UTC) - self.window)
            finally:
                con.close()
            self.error = None
        except Exception as exc:  # a health check reports, it does not crash
            self.error = f"{type(exc).__name__}: {exc}"[:200]


def hook_health(data_dir: Path, hours: int = 24) -> dict[str, Any]:
    """For ``okta-alerts status``: missed events in the last ``hours``, total and per hour."""
    from okta_alerts.reader import connect

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


def system_log_status(settings: Settings, hours: int = 24) -> dict[str, Any]:
    """For ``okta-alerts status``: hook gaps of the last ``hours``, and the saved cursors."""
    from okta_alerts.cursors import (
        BACKFILL_FILE,
        POLL_FILE,
        describe_backfill,
        describe_poll,
        load_cursor,
    )

    health = hook_health(settings.data_dir, hours)
    return {
        "hook_gaps_last_24h": health["missed"],
        "hook_gaps_by_hour": health["by_hour"],
        "system_log_poll": describe_poll(load_cursor(settings.data_dir / POLL_FILE)),
        "system_log_backfill": describe_backfill(load_cursor(settings.data_dir / BACKFILL_FILE)),
    }


def status_lines(info: dict[str, Any]) -> list[str]:
    """The human-readable lines of :func:`system_log_status`."""
    lines = [
        f"hook gaps:      {info['hook_gaps_last_24h']} events in the last 24 h found only by "
        "System Log polling/backfill (view hook_gaps)"
    ]
    lines += [
        f"                {row['hour'][:16]}  {row['missed']:>5}  {row['event_type']}"
        for row in info["hook_gaps_by_hour"]
    ]
    lines.append(f"poll:           {info['system_log_poll']}")
    lines.append(f"backfill:       {info['system_log_backfill']}")
    return lines
