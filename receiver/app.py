"""The receiver app: routes and their order of checks, composed in one factory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from okta_alerts.config import Settings
from okta_alerts.errors import DeliveryError
from okta_alerts.events import parse_delivery
from okta_alerts.hookhealth import HookGapsCache
from okta_alerts.store import StoreWriter
from receiver.auth import HookAuth
from receiver.committer import GroupCommitter, StoreUnavailableError
from receiver.metrics import ReceiverMetrics

CHALLENGE_HEADER = "x-okta-verification-challenge"


def error(status: int, code: str, detail: str) -> Response:
    return Response(
        orjson.dumps({"error": code, "detail": detail}),
        status_code=status,
        media_type="application/json",
    )


class Hooks:
    """The /hooks/okta endpoint: auth → size → content type → JSON → envelope → durable → 200."""

    def __init__(self, settings: Settings, auth: HookAuth, committer: GroupCommitter) -> None:
        self.max_body = settings.max_body_bytes
        self.auth = auth
        self.committer = committer
        self.metrics = committer.metrics

    def _unauthorized(self, request: Request) -> Response | None:
        failed = self.auth.failure(request.headers)
        if failed is None:
            return None
        self.metrics.deliveries.labels("unauthorized").inc()
        return error(401, "unauthorized", f"missing or wrong `{failed}` header")

    async def verify(self, request: Request) -> Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        challenge = request.headers.get(CHALLENGE_HEADER)
        if challenge is None:
            return error(
                400,
                "missing_challenge",
                "GET is Okta's one-time verification; it needs an "
                "X-Okta-Verification-Challenge header",
            )
        return JSONResponse({"verification": challenge})

    async def deliver(self, request: Request) -> Response:
        started = time.perf_counter()
        if (denied := self._unauthorized(request)) is not None:
            return denied
        body = await self._read_body(request)
        if isinstance(body, Response):
            return body
        try:
            batch = parse_delivery(body)
        except DeliveryError as exc:
            self.metrics.deliveries.labels("invalid").inc()
            return error(exc.status, exc.error, exc.detail)
        try:
            await self.committer.submit(batch)
        except StoreUnavailableError as exc:
            self.metrics.deliveries.labels("store_unavailable").inc()
            return error(503, "store_unavailable", f"{exc}; Okta retries this delivery once")
        self.metrics.deliveries.labels("accepted").inc()
        self.metrics.events.labels("accepted").inc(batch.size)
        self.metrics.ack_seconds.observe(time.perf_counter() - started)
        return Response(status_code=200)

    async def _read_body(self, request: Request) -> bytes | Response:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return error(400, "bad_content_length", "Content-Length must be a number")
            if int(declared) > self.max_body:
                return self._too_large()
        if not _is_json(request.headers.get("content-type", "")):
            self.metrics.deliveries.labels("unsupported_media_type").inc()
            return error(
                415, "unsupported_media_type", "send the events as Content-Type: application/json"
            )
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                return self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> Response:
        self.metrics.deliveries.labels("too_large").inc()
        return error(
            413,
            "payload_too_large",
            f"deliveries are limited to {self.max_body} bytes (OKTA_ALERTS_MAX_BODY_BYTES)",
        )


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def create_app(settings: Settings, writer: StoreWriter, auth: HookAuth) -> Starlette:
    """The receiver for one data dir. ``writer`` must already own the store (its lock)."""
    metrics = ReceiverMetrics()
    committer = GroupCommitter(writer, metrics, settings.seal_seconds, settings.compact_seconds)
    hooks = Hooks(settings, auth, committer)
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

    async def healthz(request: Request) -> Response:
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

    async def metrics_endpoint(request: Request) -> Response:
        metrics.seal_lag.set(committer.seal_lag)
        missed = hook_gaps()
        gaps_gauge.set(float("nan") if missed is None else missed)  # NaN: not computed yet
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, "http_error", str(exc.detail))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        committer.start()
        hook_gaps()
        yield
        await committer.stop()

    routes = [
        Route("/hooks/okta", hooks.verify, methods=["GET"]),
        Route("/hooks/okta", hooks.deliver, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.state.committer = committer
    return app
