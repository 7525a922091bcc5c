"""The chart a digest carries: the last day of its most severe alert's view, as a PNG.

A chart that cannot be drawn is left out, never keeping an alert from being sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import duckdb

from okta_alerts.alerts.digest import RANK
from okta_alerts.alerts.evaluate import Alert
from okta_alerts.analysis import charts
from okta_alerts.analysis.windows import Window, make_window

log = logging.getLogger(__name__)
# view of the most severe firing alert -> its chart
CHARTS: dict[str, Callable[[duckdb.DuckDBPyConnection, Window], charts.Chart]] = {
    "lockouts": charts.lockouts_chart,
    "unlocks": charts.lockouts_chart,
    "assignment_errors": charts.assignment_errors_chart,
    "events": charts.events_chart,
}
CHART_HOURS = 24


def shared_chart(
    cache: dict[str, tuple[str, bytes] | None],
    con: duckdb.DuckDBPyConnection,
    alerts: Sequence[Alert],
    now: datetime,
) -> tuple[str, bytes] | None:
    """One chart per view per check, shared by the digests that show it."""
    firing = [a for a in alerts if a.status == "firing"]
    view = max(firing, key=lambda a: RANK[a.level]).rule.view if firing else ""
    if view not in cache:
        cache[view] = chart_attachment(con, alerts, now)
    return cache[view]


def chart_attachment(
    con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], now: datetime
) -> tuple[str, bytes] | None:
    """A PNG of the last day of the most severe firing alert's view, if there is a chart of it."""
    firing = [a for a in alerts if a.status == "firing"]
    if not firing:
        return None
    view = max(firing, key=lambda a: RANK[a.level]).rule.view
    make = CHARTS.get(view)
    if make is None:
        log.info("no chart attached: there is no chart of the %s view", view)
        return None
    try:
        figure = make(con, make_window(end=now, window_hours=CHART_HOURS, baseline_days=0))
        return f"{view}.png", charts.to_png(figure)
    except Exception as exc:  # a chart must never keep an alert from being sent
        log.warning("no chart attached: %s failed: %s", make.__name__, exc)
        return None
