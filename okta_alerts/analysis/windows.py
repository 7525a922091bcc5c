"""Time windows: the one place that turns notebook parameters into UTC boundaries.

A :class:`Window` is the period a report looks at (``start`` inclusive, ``end`` exclusive, both
UTC and on bucket boundaries) plus the ``baseline_days`` before it that define "normal". Every
analysis query takes one, so every table, chart and alert of a run covers exactly the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from okta_alerts.analysis.prose import Prose
from okta_alerts.errors import WindowError
from okta_alerts.times import format_minute, parse_time

Bucket = Literal["hour", "day"]
BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
DAY_BUCKETS_FROM_HOURS = 72  # windows longer than three days are bucketed by day


@dataclass(frozen=True, slots=True)
class Window(Prose):
    """``[start, end)`` in UTC on ``bucket`` boundaries, and the ``baseline_days`` before it."""

    lead: ClassVar[bool] = False  # one line in the report, not a heading

    start: datetime
    end: datetime
    baseline_days: int
    bucket: Bucket = "hour"

    @property
    def step(self) -> timedelta:
        return BUCKETS[self.bucket]

    @property
    def hours(self) -> float:
        return (self.end - self.start) / timedelta(hours=1)

    @property
    def baseline_start(self) -> datetime:
        return self.start - timedelta(days=self.baseline_days)

    @property
    def baseline_periods(self) -> int:
        """How many whole window-length periods fit in the baseline (0: no comparison)."""
        return int((self.start - self.baseline_start) // (self.end - self.start))

    def with_bucket(self, bucket: Bucket) -> Window:
        """The same period bucketed by ``bucket`` (boundaries widened to whole buckets)."""
        return make_window(self.end, self.hours, self.baseline_days, bucket, start=self.start)

    def describe(self) -> str:
        """``24 h to 2026-11-28 13:00 UTC (baseline: the 14 days before)``."""
        length = f"{self.hours:g} h" if self.hours < 72 else f"{self.hours / 24:g} days"
        return (
            f"{length} from {format_minute(self.start)} to {format_minute(self.end)} UTC "
            f"(baseline: the {self.baseline_days} days before, bucketed by {self.bucket})"
        )


def make_window(
    end: datetime | str | None = None,
    window_hours: float = 24,
    baseline_days: int = 14,
    bucket: Bucket | None = None,
    *,
    start: datetime | None = None,
    now: datetime | None = None,
) -> Window:
    """Build the window of a run from the notebook parameters.

    ``end``: a datetime or an ISO-8601 string (naive means UTC); None means now. The end is
    rounded *up* to the next bucket boundary, so the bucket in progress is included and every
    bucket is whole; the start is ``window_hours`` earlier, rounded down. ``bucket`` defaults to
    ``hour`` for windows up to three days, else ``day``.
    """
    if isinstance(window_hours, bool) or not isinstance(window_hours, int | float):
        raise WindowError(f"window_hours must be a number of hours, got {window_hours!r}")
    if not 0 < window_hours <= 24 * 3660:
        raise WindowError(f"window_hours must be between 1 and 87840, got {window_hours!r}")
    if isinstance(baseline_days, bool) or not isinstance(baseline_days, int) or baseline_days < 0:
        raise WindowError(f"baseline_days must be a whole number >= 0, got {baseline_days!r}")
    if bucket is None:
        bucket = "hour" if window_hours <= DAY_BUCKETS_FROM_HOURS else "day"
    if bucket not in BUCKETS:
        raise WindowError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
    step = BUCKETS[bucket]
    stop = _ceil(parse_time(end) if end is not None else now or datetime.now(UTC), step)
    first = _floor(start if start is not None else stop - timedelta(hours=window_hours), step)
    return Window(start=first, end=stop, baseline_days=baseline_days, bucket=bucket)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _floor(when: datetime, step: timedelta) -> datetime:
    when = parse_time(when)
    return when - (when - _EPOCH) % step


def _ceil(when: datetime, step: timedelta) -> datetime:
    floor = _floor(when, step)
    return floor if floor == when else floor + step
