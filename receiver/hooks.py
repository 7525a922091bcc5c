"""The routes every receiver process answers the same way: /hooks/okta, /healthz, /metrics.

The main process and the front processes (:mod:`receiver.front`) build their app here, so status
codes, error bodies and the order of checks cannot drift apart. What differs is behind two small
interfaces: the :class:`Committer` that makes a batch durable (the group committer in the main
process, a link to it in a front) and the pages (rendered locally, or asked of the main process).
Imports stay light: a front process loads this module, never the store.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import orjson
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from okta_alerts.errors import DeliveryError
from okta_alerts.events import Batch, parse_delivery
from receiver.auth import HookAuth

CHALLENGE_HEADER = "x-okta-verification-challenge"
HOOK_PATH = "/hooks/okta"
PAGES = ("/healthz", "/metrics")  # answered by the main process, whichever process is asked

Page = Callable[[], Awaitable[Response]]
Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]


class StoreUnavailableError(Exception):
    """The journal could not take a commit (disk full, I/O error, shutting down, main gone)."""


class Committer(Protocol):
    """Makes batches durable and keeps the delivery counts (in the main process only)."""

    async def submit(self, batch: Batch, started: float) -> None:
        """Return once ``batch`` is durable; raise StoreUnavailableError if it is not.

        ``started`` is when the request started (``time.perf_counter()``), for the ack latency.
        """

    def rejected(self, outcome: str) -> None:
        """Count one delivery refused before the store (``unauthorized``, ``invalid``, ...)."""


def error(status: int, code: str, detail: str) -> Response:
    return Response(
        orjson.dumps({"error": code, "detail": detail}),
        status_code=status,
        media_type="application/json",
    )


ACCEPTED = Response(status_code=200)  # stateless, sent as is to every accepted delivery


class Hooks:
    """The /hooks/okta endpoint: auth → size → content type → JSON → envelope → durable → 200."""

    def __init__(self, max_body: int, auth: HookAuth, committer: Committer) -> None:
        self.max_body = max_body
        self.auth = auth
        self.committer = committer

    def _unauthorized(self, headers: Headers) -> Response | None:
        failed = self.auth.failure(headers)
        if failed is None:
            return None
        self.committer.rejected("unauthorized")
        return error(401, "unauthorized", f"missing or wrong `{failed}` header")

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

    async def deliver(self, scope: Scope, receive: Receive) -> Response:
        """Handle one POST (a bare ASGI call: this is the hot path); return the answer."""
        started = time.perf_counter()
        headers = Headers(scope=scope)
        if (denied := self._unauthorized(headers)) is not None:
            return denied
        body = await self._read_body(headers, receive)
        if isinstance(body, Response):
            return body
        try:
            batch = parse_delivery(body)
        except DeliveryError as exc:
            self.committer.rejected("invalid")
            return error(exc.status, exc.error, exc.detail)
        try:
            await self.committer.submit(batch, started)
        except StoreUnavailableError as exc:
            return error(503, "store_unavailable", f"{exc}; Okta retries this delivery once")
        return ACCEPTED

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes | Response:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return error(400, "bad_content_length", "Content-Length must be a number")
            if int(declared) > self.max_body:
                return self._too_large()
        if not is_json(headers.get("content-type", "")):
            self.committer.rejected("unsupported_media_type")
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
        self.committer.rejected("too_large")
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


def build_app(hooks: Hooks, pages: Mapping[str, Page], lifespan: Lifespan) -> HookApp:
    """The receiver's routes and error answers; ``pages`` are the GET-only extras by path."""

    def page(render: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await render()

        return endpoint

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, "http_error", str(exc.detail))

    routes = [
        Route(HOOK_PATH, hooks.verify, methods=["GET"]),
        Route(HOOK_PATH, _never_routed, methods=["POST"]),  # for 405's Allow header only
        *(Route(path, page(render), methods=["GET"]) for path, render in pages.items()),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    return HookApp(hooks, app)


async def _never_routed(request: Request) -> Response:
    raise AssertionError("POST /hooks/okta is answered by HookApp")  # pragma: no cover


class HookApp:
    """The receiver's ASGI app: POST /hooks/okta goes straight to :meth:`Hooks.deliver`.

    Deliveries are the hot path, and Starlette's request object, routing and middleware stack
    cost a noticeable share of a delivery's CPU; everything else (the verification GET, the
    pages, 404/405, lifespan) goes to the Starlette app in ``app``.
    """

    def __init__(self, hooks: Hooks, app: Starlette) -> None:
        self.hooks = hooks
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == HOOK_PATH:
            answer = await self.hooks.deliver(scope, receive)
            await answer(scope, receive, send)
        else:
            await self.app(scope, receive, send)
