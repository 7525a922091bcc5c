"""The event-hook endpoint: Okta's verification GET and the delivery POST.

A POST is checked in order — auth, size, content type, JSON, envelope, each event's keys — and
any failure answers ``4xx`` before anything is stored. A valid delivery is handed to the group
committer and answered ``200`` only once it is durable. The POST is an ASGI endpoint (Starlette
routes it): a delivery is the hot path and needs no Request object.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from okta_alerts.errors import DeliveryError, StoreUnavailableError
from okta_alerts.okta.delivery import parse_delivery
from okta_alerts.okta.typednames import TypedNames
from receiver.auth import HookAuth
from receiver.committer import GroupCommitter
from receiver.eventtimes import EventTimes
from receiver.metrics import ReceiverMetrics

CHALLENGE_HEADER = "x-okta-verification-challenge"
HOOK_PATH = "/hooks/okta"
ACCEPTED = Response(status_code=200)  # stateless, sent as is to every accepted delivery


def error(status: int, code: str, detail: str) -> Response:
    return Response(
        orjson.dumps({"error": code, "detail": detail}),
        status_code=status,
        media_type="application/json",
    )


class Hooks:
    """``/hooks/okta``: ``verify`` answers the GET; the instance itself is the POST endpoint."""

    def __init__(
        self,
        max_body: int,
        auth: HookAuth,
        committer: GroupCommitter,
        metrics: ReceiverMetrics,
        times: EventTimes,
        typed: TypedNames | None = None,
    ) -> None:
        self.max_body = max_body
        self.auth = auth
        self.committer = committer
        self.metrics = metrics
        self.times = times
        self.typed = typed  # hashes what unknown actors typed before it is journaled

    async def verify(self, request: Request) -> Response:
        if (denied := self._unauthorized(request.headers)) is not None:
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self.deliver(scope, receive)
        await answer(scope, receive, send)

    async def deliver(self, scope: Scope, receive: Receive) -> Response:
        """Check one POST and make it durable; return the answer."""
        started = time.perf_counter()
        headers = Headers(scope=scope)
        if (denied := self._unauthorized(headers)) is not None:
            return denied
        body = await self._read_body(headers, receive)
        if isinstance(body, Response):
            return body
        try:
            batch = parse_delivery(body, self.typed)
        except DeliveryError as exc:
            self._rejected("invalid")
            return error(exc.status, exc.error, exc.detail)
        try:
            await self.committer.submit(batch, started)
        except StoreUnavailableError as exc:
            return error(503, "store_unavailable", f"{exc}; Okta retries this delivery once")
        self.times.acknowledged(batch.published, datetime.now(UTC))
        return ACCEPTED

    def _rejected(self, outcome: str) -> None:
        self.metrics.deliveries.labels(outcome).inc()

    def _unauthorized(self, headers: Headers) -> Response | None:
        failed = self.auth.failure(headers)
        if failed is None:
            return None
        self._rejected("unauthorized")
        return error(401, "unauthorized", f"missing or wrong `{failed}` header")

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes | Response:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return error(400, "bad_content_length", "Content-Length must be a number")
            if int(declared) > self.max_body:
                return self._too_large()
        if not is_json(headers.get("content-type", "")):
            self._rejected("unsupported_media_type")
            return error(
                415, "unsupported_media_type", "send the events as Content-Type: application/json"
            )
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away mid-body
                return error(400, "incomplete_body", "the connection closed before the body ended")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> Response:
        self._rejected("too_large")
        return error(
            413,
            "payload_too_large",
            f"deliveries are limited to {self.max_body} bytes (OKTA_ALERTS_MAX_BODY_BYTES)",
        )


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
