"""When acknowledged events say they happened: far-off times are counted, and the freshness
``/healthz`` reports comes only from events that are not in the future.

Okta's ``published`` is the event's own time; a delivery can carry one far from now (a clock
gone wrong, a hand-made event dated 9999). Such events are still acknowledged — Okta must not
retry them — and stored: one more than a day ahead (``future``) is kept and readable like any
other; one older than ``OKTA_ALERTS_RETENTION_DAYS`` (``expired``) is dropped by the next
compaction. Both are counted in ``okta_alerts_events_out_of_range_total{when=...}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from okta_alerts.times import published_time
from receiver.metrics import ReceiverMetrics

FUTURE = timedelta(days=1)  # published later than this after arriving: counted as future


class EventTimes:
    """The newest acknowledged ``published`` up to its arrival, and the far-off counts."""

    def __init__(self, metrics: ReceiverMetrics, retention_days: int) -> None:
        self.retention = timedelta(days=retention_days)
        self.newest: datetime | None = None  # of events acknowledged by this process
        self._future = metrics.out_of_range.labels("future")
        self._expired = metrics.out_of_range.labels("expired")

    def acknowledged(self, published: list[str], now: datetime) -> None:
        """Note the events of one acknowledged delivery, received at ``now`` (UTC)."""
        times = [published_time(p) for p in published]
        present = [t for t in times if t <= now]
        if present and (self.newest is None or max(present) > self.newest):
            self.newest = max(present)
        if len(present) < len(times):
            future = sum(1 for t in times if t > now + FUTURE)
            if future:
                self._future.inc(future)
        oldest = min(present, default=None)
        if oldest is not None and oldest < now - self.retention:
            self._expired.inc(sum(1 for t in present if t < now - self.retention))
