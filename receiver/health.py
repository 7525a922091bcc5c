"""``/healthz`` and ``/metrics``: what the receiver tells monitoring, never blocking a delivery.

The hook-gap count of the last 24 h is a query over the whole store, far too slow for every
health check: :class:`HookGapsCache` keeps the last value (None until first computed) and lets
one caller at a time recompute it off the event loop, at most once a minute.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from okta_alerts.read.connect import connect
from okta_alerts.read.hookgaps import hook_gaps_count
from okta_alerts.store.writer import StoreWriter
from okta_alerts.times import parse_time
from receiver.committer import GroupCommitter
from receiver.eventtimes import EventTimes
from receiver.metrics import ReceiverMetrics


class HookGapsCache:
    """Missed events of the last ``hours``, recomputed in the background at most every ``ttl``."""

    def __init__(self, data_dir: Path, ttl: float = 60.0, hours: int = 24) -> None:
        self.data_dir = data_dir
        self.ttl = ttl
        self.window = timedelta(hours=hours)
        self.value: int | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._claimed_at = float("-inf")

    def current(self) -> int | None:
        """The last value; starts a recomputation on another thread when it is due."""
        if self._claim_refresh():
            asyncio.get_running_loop().run_in_executor(None, self.refresh)
        return self.value

    def _claim_refresh(self) -> bool:
        with self._lock:
            if time.monotonic() - self._claimed_at < self.ttl:
                return False
            self._claimed_at = time.monotonic()
            return True

    def refresh(self) -> None:
        try:
            con = connect(self.data_dir)
            try:
                self.value = hook_gaps_count(con, datetime.now(UTC) - self.window)
            finally:
                con.close()
            self.error = None
        except Exception as exc:  # a health check reports, it does not crash
            self.error = f"{type(exc).__name__}: {exc}"[:200]


class Health:
    """The two monitoring pages of one receiver."""

    def __init__(
        self,
        writer: StoreWriter,
        committer: GroupCommitter,
        metrics: ReceiverMetrics,
        times: EventTimes,
        seal_seconds: float,
    ) -> None:
        self.writer = writer
        self.committer = committer
        self.metrics = metrics
        self.times = times
        self.healthy_lag = max(30.0, 6 * seal_seconds)
        self.gaps = HookGapsCache(writer.settings.data_dir)
        self.gaps_gauge = Gauge(
            "okta_alerts_hook_gaps_last_24h",
            "Hook-eligible events of the last 24 h that only System Log polling/backfill found",
            registry=metrics.registry,
        )

    async def healthz(self, request: Request) -> Response:
        manifest = self.writer.manifest
        lag = self.committer.seal_lag
        received = self.committer.last_received_at
        body: dict[str, Any] = {
            "status": "ok" if lag <= self.healthy_lag else "degraded",
            "events_stored": manifest.rows,
            "events_acknowledged_since_start": self.committer.events_acknowledged,
            "last_event_published": self.last_event_published(),
            "last_delivery_received_at": received.isoformat() if received else None,
            "store_lag_seconds": math.ceil(lag * 1000) / 1000,  # 0 only when all is sealed
            "parts": len(manifest.parts),
            "checked_at": datetime.now(UTC).isoformat(),
            "hook_gaps_last_24h": self.gaps.current(),
        }
        return JSONResponse(body)

    def last_event_published(self) -> str | None:
        """The newest event time that is not in the future: of the events this receiver
        acknowledged, or of the stored files whose newest event is not in the future (after a
        restart); an event dated ahead never pins it."""
        now = datetime.now(UTC).isoformat()
        stored = max(
            (f.max_published for f in self.writer.manifest.files if f.max_published <= now),
            default=None,
        )
        acknowledged = self.times.newest
        if acknowledged is not None and (stored is None or parse_time(stored) < acknowledged):
            return acknowledged.isoformat()
        return stored

    async def metrics_page(self, request: Request) -> Response:
        self.metrics.seal_lag.set(self.committer.seal_lag)
        missed = self.gaps.current()
        self.gaps_gauge.set(float("nan") if missed is None else missed)  # NaN: not computed yet
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)
