"""Counts over time and against the baseline, for any of the contract's views.

Both queries read only ``[baseline_start, end)`` of one view (``published`` is filtered first,
so DuckDB skips the Parquet row groups outside it) and aggregate in SQL:

- :func:`counts_over_time`: zero-filled UTC buckets of the window, each with the baseline band of
  its slot (the same hour of day for hourly buckets; any day for daily buckets);
- :func:`compare_to_baseline`: the window's count against the counts of the window-length periods
  before it (mean, standard deviation, ratio, z-score).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from okta_alerts.analysis.windows import Window

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VIEWS = ("events", "lockouts", "unlocks", "assignment_errors")  # the only relations queried here

Params = dict[str, object]  # a query's named parameters ($start ...)
Row = tuple[Any, ...]  # a result row: its values are whatever the query selects
FigureValue = str | int | float | list[str] | None
Figures = dict[str, FigureValue]  # a summary's key figures, plain values for JSON


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Params) -> pd.DataFrame:
    """Run ``sql`` with named parameters (``$start`` ...) and return the result as a DataFrame."""
    return con.execute(sql, _used(sql, params)).df()


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: Params) -> Row:
    """Run an aggregate ``sql`` that returns exactly one row."""
    row = con.execute(sql, _used(sql, params)).fetchone()
    if row is None:
        raise ValueError("the query returned no row")
    return row


def _used(sql: str, params: Params) -> Params:
    # DuckDB refuses named parameters that the statement does not use.
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def window_params(window: Window, **extra: object) -> Params:
    """The bound parameters every query may use."""
    return {
        "baseline_start": window.baseline_start,
        "start": window.start,
        "end": window.end,
        **extra,
    }


def _view(view: str) -> str:
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; one of {', '.join(VIEWS)}")
    return view


def counts_over_time(con: duckdb.DuckDBPyConnection, view: str, window: Window) -> pd.DataFrame:
    """One row per bucket of the window: ``bucket`` (UTC start), ``count``, and the baseline's
    ``baseline_mean``, ``baseline_low`` (10th percentile) and ``baseline_high`` (90th) of the
    same slot. Without baseline days the band columns are NaN.

    Buckets are numbered by integer division of the epoch (UTC hours or days since 1970), which
    is several times faster than ``date_trunc`` on TIMESTAMPTZ and matches the window's
    boundaries (also multiples of the step since the epoch)."""
    step = int(window.step / timedelta(microseconds=1))
    sql = f"""
    WITH counts AS (
      SELECT epoch_us(published) // $step AS i, count(published) AS n
      FROM {_view(view)}
      WHERE published >= $baseline_start AND published < $end
      GROUP BY ALL
    ), series AS (
      SELECT s.i, coalesce(c.n, 0) AS n, s.i % $slots AS slot
      FROM range($first, $last) s(i) LEFT JOIN counts c USING (i)
    ), band AS (
      SELECT slot, avg(n) AS mean, quantile_cont(n, 0.1) AS low, quantile_cont(n, 0.9) AS high
      FROM series WHERE i < $current GROUP BY slot
    )
    SELECT make_timestamptz(i * $step) AS bucket, n AS count,
           mean AS baseline_mean, low AS baseline_low, high AS baseline_high
    FROM series LEFT JOIN band USING (slot)
    WHERE i >= $current
    ORDER BY i
    """
    params = window_params(
        window,
        step=step,
        slots=24 if window.bucket == "hour" else 1,
        first=_micros(window.baseline_start) // step,
        current=_micros(window.start) // step,
        last=_micros(window.end) // step,
    )
    result = frame(con, sql, params)
    result["count"] = result["count"].astype("int64")
    return result.astype({c: "float64" for c in ("baseline_mean", "baseline_low", "baseline_high")})


def _micros(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A count in the window against the same-length periods of the baseline."""

    count: int
    periods: int  # baseline periods compared with (0: no baseline)
    mean: float | None
    std: float | None

    @property
    def ratio(self) -> float | None:
        """``count / mean`` (None when the baseline mean is 0 or there is no baseline)."""
        return self.count / self.mean if self.mean else None

    @property
    def zscore(self) -> float | None:
        """Standard deviations above the baseline mean (None when the baseline is flat)."""
        if self.mean is None or not self.std:
            return None
        return (self.count - self.mean) / self.std

    def describe(self, noun: str, window: Window) -> str:
        """``normal is 5.1 ± 2.0 per 24 h (14 days before) → 8.2× normal (z = 18.5)``."""
        if self.mean is None:
            return "no baseline to compare with (baseline_days is shorter than the window)"
        per = f"{window.hours:g} h" if window.hours < 72 else f"{window.hours / 24:g} days"
        text = f"normal is {self.mean:.1f} ± {self.std or 0:.1f} {noun} per {per}"
        text += f" (over the {window.baseline_days} days before)"
        if self.ratio is not None:
            text += f" → {self.ratio:.1f}× normal"
        if self.zscore is not None:
            text += f" (z = {self.zscore:.1f})"
        return text


def compare_to_baseline(con: duckdb.DuckDBPyConnection, view: str, window: Window) -> Comparison:
    """Count ``view`` rows in the window and in each window-length period of the baseline."""
    sql = f"WITH {period_stats_sql(_view(view))} SELECT * FROM period_stats"
    return comparison(window, one_row(con, sql, period_params(window)))


def period_stats_sql(relation: str) -> str:
    """CTEs ending in ``period_stats(current, mean, std)``: the count of ``relation`` rows (with
    a ``published`` column) in the window, and the mean and standard deviation of the counts of
    the window-length periods before it. Bind :func:`period_params`."""
    return f"""
    period_rows AS (
      SELECT (epoch_us(published) - $first_us) // $length_us AS period
      FROM {relation}
      WHERE published >= $first AND published < $end
    ), period_counts AS (
      SELECT p.period, count(r.period) AS n
      FROM range(0, $periods + 1) p(period) LEFT JOIN period_rows r USING (period)
      GROUP BY p.period
    ), period_stats AS (
      SELECT
        max(n) FILTER (WHERE period = $periods) AS current,
        avg(n) FILTER (WHERE period < $periods) AS mean,
        stddev_samp(n) FILTER (WHERE period < $periods) AS std
      FROM period_counts
    )"""


def period_params(window: Window) -> Params:
    """Parameters of :func:`period_stats_sql`: the baseline periods end where the window starts
    (so they start at or after ``baseline_start``)."""
    length = window.end - window.start
    first = window.start - window.baseline_periods * length
    return {
        "first": first,
        "first_us": _micros(first),
        "end": window.end,
        "length_us": length // timedelta(microseconds=1),
        "periods": window.baseline_periods,
    }


def comparison(window: Window, stats: Row) -> Comparison:
    """A :class:`Comparison` from ``(current, mean, std)`` of ``period_stats``."""
    current, mean, std = stats
    return Comparison(
        count=int(current or 0),
        periods=window.baseline_periods,
        mean=None if mean is None else float(mean),
        std=None if std is None else float(std),
    )
