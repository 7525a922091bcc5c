"""Assignment and provisioning error queries over the ``assignment_errors`` view.

Same conventions as :mod:`okta_alerts.analysis` (which re-exports these): connection and window
in, DataFrame or :class:`AssignmentSummary` out; ``published`` filtered first; SQL with bound
parameters. ``baseline_expected`` is the number of errors a window of this length would have at
the baseline's average rate (NULL without baseline days).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from okta_alerts.analysis.baseline import (
    Comparison,
    Figures,
    Params,
    comparison,
    counts_over_time,
    frame,
    one_row,
    period_params,
    period_stats_sql,
)
from okta_alerts.analysis.baseline import window_params as _window_params
from okta_alerts.analysis.prose import Prose, plural
from okta_alerts.analysis.windows import Window

UNKNOWN_APP = "(unknown app)"
NO_REASON = "(no reason given)"

# Every query reads the view once (a MATERIALIZED CTE) and only as far back as it needs ($from:
# the window's start, or the baseline's when it compares). Reasons are counted by their key (the
# view's reason_key: the reason without user names, logins, ids and numbers), so one cause is one
# row; ``example`` is one reason as Okta gave it.
_ERRORS = """
  SELECT coalesce(app_name, $unknown_app) AS app_name, user_login,
         coalesce(reason_key, $no_reason) AS reason, reason AS example, published
  FROM assignment_errors WHERE published >= $from AND published < $end
"""
# Per app, its most frequent reason in the window (ties: alphabetical).
_TOP_REASON = """
  SELECT app_name, reason AS top_reason FROM (
    SELECT app_name, reason, count(*) AS n FROM e WHERE published >= $start GROUP BY ALL
  ) QUALIFY row_number() OVER (PARTITION BY app_name ORDER BY n DESC, reason) = 1
"""


# Apps at or above the spike thresholds, over the CTEs ``e`` (errors) and ``top``.
_SPIKES = """
  SELECT app_name, errors, round(expected, 2) AS baseline_expected,
         round(errors / nullif(expected, 0), 1) AS ratio, users, top_reason
  FROM (
    SELECT app_name,
           count(*) FILTER (WHERE published >= $start) AS errors,
           count(*) FILTER (WHERE published < $start) * $scale AS expected,
           count(DISTINCT user_login) FILTER (WHERE published >= $start) AS users
    FROM e GROUP BY app_name
  ) LEFT JOIN top USING (app_name)
  WHERE errors >= $min_errors AND (coalesce(expected, 0) = 0 OR errors >= $min_ratio * expected)
"""
_SPIKE_ORDER = "coalesce(ratio, 'inf'::DOUBLE) DESC, errors DESC, app_name"


def _params(window: Window, baseline: bool = True, **extra: object) -> Params:
    baseline_hours = window.baseline_days * 24
    scale = window.hours / baseline_hours if baseline_hours else None
    return _window_params(
        window,
        unknown_app=UNKNOWN_APP,
        no_reason=NO_REASON,
        scale=scale,
        **{"from": window.baseline_start if baseline else window.start},
        **extra,
    )


def assignment_errors_over_time(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Errors per bucket of the window (zero-filled, UTC) with the baseline band:
    ``bucket, count, baseline_mean, baseline_low, baseline_high``."""
    return counts_over_time(con, "assignment_errors", window)


def assignment_errors_by_hour(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """:func:`assignment_errors_over_time` in hourly buckets."""
    return counts_over_time(con, "assignment_errors", window.with_bucket("hour"))


def assignment_errors_by_day(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """:func:`assignment_errors_over_time` in daily (UTC) buckets."""
    return counts_over_time(con, "assignment_errors", window.with_bucket("day"))


def errors_by_app(con: duckdb.DuckDBPyConnection, window: Window, limit: int = 10) -> pd.DataFrame:
    """Apps with errors in the window: ``app_name, errors, users, reasons, top_reason,
    baseline_expected``; most errors first, ties by name."""
    sql = f"""
    WITH e AS MATERIALIZED ({_ERRORS}), top AS ({_TOP_REASON})
    SELECT app_name,
           count(*) FILTER (WHERE published >= $start) AS errors,
           count(DISTINCT user_login) FILTER (WHERE published >= $start) AS users,
           count(DISTINCT e.reason) FILTER (WHERE published >= $start) AS reasons,
           any_value(top_reason) AS top_reason,
           round(count(*) FILTER (WHERE published < $start) * $scale, 2) AS baseline_expected
    FROM e LEFT JOIN top USING (app_name)
    GROUP BY app_name HAVING errors > 0
    ORDER BY errors DESC, app_name
    LIMIT $limit
    """
    return frame(con, sql, _params(window, limit=limit))


def errors_by_reason(
    con: duckdb.DuckDBPyConnection, window: Window, limit: int = 10
) -> pd.DataFrame:
    """Error reasons (their keys) in the window: ``reason, errors, apps, users, first_seen,
    last_seen, baseline_errors`` (0: new in this window), ``example`` (the latest as Okta gave
    it); most errors first, ties by reason."""
    sql = f"""
    WITH e AS ({_ERRORS})
    SELECT reason,
           count(*) FILTER (WHERE published >= $start) AS errors,
           count(DISTINCT app_name) FILTER (WHERE published >= $start) AS apps,
           count(DISTINCT user_login) FILTER (WHERE published >= $start) AS users,
           min(published) FILTER (WHERE published >= $start) AS first_seen,
           max(published) FILTER (WHERE published >= $start) AS last_seen,
           count(*) FILTER (WHERE published < $start) AS baseline_errors,
           arg_max(example, published) FILTER (WHERE published >= $start) AS example
    FROM e GROUP BY reason HAVING errors > 0
    ORDER BY errors DESC, reason
    LIMIT $limit
    """
    return frame(con, sql, _params(window, limit=limit))


def errors_by_user(con: duckdb.DuckDBPyConnection, window: Window, limit: int = 10) -> pd.DataFrame:
    """Users with the most errors in the window: ``user_login, errors, apps, last_error,
    last_app, last_reason``; most errors first, ties by login."""
    sql = f"""
    WITH e AS ({_ERRORS})
    SELECT user_login, count(*) AS errors, count(DISTINCT app_name) AS apps,
           max(published) AS last_error,
           arg_max(app_name, published) AS last_app,
           arg_max(reason, published) AS last_reason
    FROM e
    GROUP BY user_login
    ORDER BY errors DESC, user_login NULLS LAST
    LIMIT $limit
    """
    return frame(con, sql, _params(window, baseline=False, limit=limit))


def new_error_reasons(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Reasons (their keys) seen in the window but never in the baseline: ``reason, errors,
    users, first_seen, apps`` (comma-separated), ``example``; most errors first."""
    sql = f"""
    WITH e AS MATERIALIZED ({_ERRORS})
    SELECT reason,
           count(*) AS errors,
           count(DISTINCT user_login) AS users,
           min(published) AS first_seen,
           array_to_string(list(DISTINCT app_name ORDER BY app_name), ', ') AS apps,
           arg_min(example, published) AS example
    FROM e WHERE published >= $start
      AND reason NOT IN (SELECT reason FROM e WHERE published < $start)
    GROUP BY reason
    ORDER BY errors DESC, reason
    """
    return frame(con, sql, _params(window))


def app_error_spikes(
    con: duckdb.DuckDBPyConnection, window: Window, min_errors: int = 5, min_ratio: float = 3.0
) -> pd.DataFrame:
    """Apps whose error rate in the window is ``min_ratio`` times the baseline's (or that had
    none in the baseline) with at least ``min_errors`` errors: ``app_name, errors,
    baseline_expected, ratio, users, top_reason``; highest ratio first."""
    sql = f"""
    WITH e AS MATERIALIZED ({_ERRORS}), top AS ({_TOP_REASON})
    {_SPIKES}
    ORDER BY {_SPIKE_ORDER}
    """
    return frame(con, sql, _params(window, min_errors=min_errors, min_ratio=min_ratio))


@dataclass(frozen=True, slots=True)
class AssignmentSummary(Prose):
    """The headline numbers of an assignment-error report and their baseline comparison."""

    window: Window
    errors: int
    apps: int
    users: int
    reasons: int
    new_reasons: int
    spiking_apps: tuple[str, ...]
    top_app: str | None
    top_app_errors: int
    top_reason: str | None
    baseline: Comparison

    def figures(self) -> Figures:
        """Plain values for ``reports.record_figures`` and alert messages."""
        return {
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "errors": self.errors,
            "apps": self.apps,
            "users": self.users,
            "reasons": self.reasons,
            "new_reasons": self.new_reasons,
            "spiking_apps": list(self.spiking_apps),
            "top_app": self.top_app,
            "top_app_errors": self.top_app_errors,
            "top_reason": self.top_reason,
            "baseline_mean": self.baseline.mean,
            "baseline_std": self.baseline.std,
            "ratio": self.baseline.ratio,
            "zscore": self.baseline.zscore,
        }

    def describe(self) -> str:
        if not self.errors:
            lines = [f"No assignment errors in this window ({self.window}).", "Nothing to report."]
        else:
            spikes = ", ".join(self.spiking_apps) or "none"
            lines = [
                f"{plural(self.errors, 'assignment error')} in {plural(self.apps, 'app')} for "
                f"{plural(self.users, 'user')} "
                f"in {self.window}.",
                f"Most errors: {self.top_app} ({self.top_app_errors}); "
                f"most common reason: {self.top_reason}.",
                f"New reasons: {self.new_reasons}; apps spiking: {spikes}.",
            ]
        lines.append(self.baseline.describe("errors", self.window).capitalize() + ".")
        return "\n".join(lines)


def assignment_summary(
    con: duckdb.DuckDBPyConnection, window: Window, min_errors: int = 5, min_ratio: float = 3.0
) -> AssignmentSummary:
    """Errors, apps, users and reasons in the window, the top app and reason (ordered as in
    :func:`errors_by_app` and :func:`errors_by_reason`), the number of new reasons, the spiking
    apps (as :func:`app_error_spikes`), and the comparison with the baseline."""
    sql = f"""
    WITH e AS MATERIALIZED ({_ERRORS}), top AS ({_TOP_REASON}),
    w AS (SELECT * FROM e WHERE published >= $start),
    spikes AS ({_SPIKES}),
    top_app AS (SELECT app_name, count(*) AS n FROM w GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1),
    top_why AS (SELECT reason, count(*) AS n FROM w GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1),
    {period_stats_sql("e")}
    SELECT (SELECT count(*) FROM w), (SELECT count(DISTINCT app_name) FROM w),
           (SELECT count(DISTINCT user_login) FROM w), (SELECT count(DISTINCT reason) FROM w),
           (SELECT count(DISTINCT reason) FROM w
             WHERE reason NOT IN (SELECT reason FROM e WHERE published < $start)),
           (SELECT list(app_name ORDER BY {_SPIKE_ORDER}) FROM spikes),
           (SELECT app_name FROM top_app), (SELECT n FROM top_app), (SELECT reason FROM top_why),
           (SELECT current FROM period_stats), (SELECT mean FROM period_stats),
           (SELECT std FROM period_stats)
    """
    # e spans [baseline_start, end), which holds every baseline period (period_params)
    params = _params(window, min_errors=min_errors, min_ratio=min_ratio) | period_params(window)
    row = one_row(con, sql, params)
    errors, apps, users, reasons, new, spiking, top_app, top_n, top_reason = row[:9]
    return AssignmentSummary(
        window=window,
        errors=int(errors),
        apps=int(apps),
        users=int(users),
        reasons=int(reasons),
        new_reasons=int(new),
        spiking_apps=tuple(spiking or ()),
        top_app=top_app,
        top_app_errors=int(top_n or 0),
        top_reason=top_reason,
        baseline=comparison(window, row[9:]),
    )
