"""The main process's app: the shared routes (:mod:`receiver.hooks`) over the group committer.

``/healthz`` and ``/metrics`` are rendered here only; front processes forward their GETs here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response

from okta_alerts.config import Settings
from okta_alerts.hookhealth import HookGapsCache
from okta_alerts.store import StoreWriter
from receiver.auth import HookAuth
from receiver.committer import GroupCommitter
from receiver.fronts import FrontLink, Fronts
from receiver.hooks import HookApp, Hooks, Page, build_app
from receiver.metrics import ReceiverMetrics


def create_app(
    settings: Settings, writer: StoreWriter, auth: HookAuth, fronts: Fronts | None = None
) -> HookApp:
    """The receiver for one data dir. ``writer`` must already own the store (its lock).

    With ``fronts``, their processes start with the app, and their deliveries are committed and
    counted here; the committer stops only after they have exited.
    """
    metrics = ReceiverMetrics()
    committer = GroupCommitter(writer, metrics, settings.seal_seconds, settings.compact_seconds)
    hooks = Hooks(settings.max_body_bytes, auth, committer)
    gaps = HookGapsCache(settings.data_dir)  # recomputed in the background once a minute

    def hook_gaps() -> int | None:
        if gaps.claim_refresh():
            asyncio.get_running_loop().run_in_executor(None, gaps.refresh)
        return gaps.value

    gaps_gauge = Gauge(
        "okta_alerts_hook_gaps_last_24h",
        "Hook-eligible events of the last 24 h that only System Log polling/backfill found",
        registry=metrics.registry,
    )

    async def healthz() -> Response:
        manifest = writer.manifest
        newest = max((f.max_published for f in manifest.files), default=None)
        lag = committer.seal_lag
        body: dict[str, Any] = {
            "status": "ok" if lag <= max(30.0, 6 * settings.seal_seconds) else "degraded",
            "events_stored": manifest.rows,
            "events_acknowledged_since_start": committer.events_acknowledged,
            "last_event_published": newest,
            "last_delivery_received_at": (
                committer.last_received_at.isoformat() if committer.last_received_at else None
            ),
            "store_lag_seconds": round(lag, 3),
            "segments": len(manifest.segments),
            "daily_files": len(manifest.daily),
            "checked_at": datetime.now(UTC).isoformat(),
            "hook_gaps_last_24h": hook_gaps(),
        }
        return JSONResponse(body)

    async def metrics_page() -> Response:
        metrics.seal_lag.set(committer.seal_lag)
        missed = hook_gaps()
        gaps_gauge.set(float("nan") if missed is None else missed)  # NaN: not computed yet
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    pages: dict[str, Page] = {"/healthz": healthz, "/metrics": metrics_page}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        committer.start()
        hook_gaps()
        if fronts is not None:
            await fronts.start(FrontLink(committer, pages).serve)
        yield
        if fronts is not None:
            await fronts.stop()
        await committer.stop()

    return build_app(hooks, pages, lifespan)
