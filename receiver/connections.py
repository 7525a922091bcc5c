"""Every connection bounded before the app (and its authentication) sees a request.

uvicorn's httptools protocol has no limit on the size of a request's head and no deadline for
receiving it or its body: one client could make the receiver buffer hundreds of megabytes of
headers, or hold a connection (an open file) forever by stalling. :class:`BoundedProtocol` is
that protocol with the limits of :class:`Limits` (``OKTA_ALERTS_*`` settings, README Operations):

- a request line and headers over ``max_header_bytes`` are answered ``431`` (counted as they
  arrive, so at most one read of 256 KiB more is ever buffered);
- a head not received within ``header_seconds`` of the connection (or of the first byte of a
  later request on it) is answered ``408``, a body not received within ``body_seconds`` of its
  head ``408`` too (or the connection is just closed if the app already answers);
- a connection past ``max_connections`` open ones is answered ``503`` at once.

uvicorn's own ``limit_concurrency`` answers 503 only once a request's head has been read; the
cap here refuses at the connection, so a flood of silent connections costs no buffers. Idle
kept-alive connections are closed by uvicorn's ``timeout_keep_alive`` (a setting too).

Each refusal writes a short JSON answer with ``Connection: close``, half-closes, reads and drops
what the client still sends for at most :data:`LINGER` seconds (so it sees the answer rather than
a reset), then closes. Refusals are counted in ``okta_alerts_connections_refused_total``.
"""

from __future__ import annotations

import asyncio
import http
from dataclasses import dataclass
from typing import ClassVar

import httptools
import orjson
from prometheus_client import Counter
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

LINGER = 1.0  # seconds a refused connection is still read (and what arrives dropped)


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int
    header_seconds: float
    body_seconds: float
    max_connections: int


class BoundedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`Limits`; built by :func:`bounded_protocol`."""

    limits: ClassVar[Limits]
    refused: ClassVar[Counter | None] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True
        self._closing = False
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "too_many_connections", "too many open connections; try again")
            return
        self._arm(self.limits.header_seconds, "header_timeout")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # refused: drop what still arrives until the linger ends
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no upgrades here: the request goes on as plain HTTP
        except httptools.HttpParserError:
            if not self._closing:
                self._refuse(400, "invalid_http", "the request is not valid HTTP/1.1")
            return
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            self._head_too_large()

    # -- parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection
            self._arm(self.limits.header_seconds, "header_timeout")

    def on_headers_complete(self) -> None:
        head = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if head > self.limits.max_header_bytes:
            self._head_too_large()
            raise _Refused  # stop parsing this connection
        self._in_head = False
        self._arm(self.limits.body_seconds, "body_timeout")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head, self._head_bytes = True, 0
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid_http", msg)

    # -- refusals ---------------------------------------------------------------------------

    def _head_too_large(self) -> None:
        self._refuse(
            431,
            "headers_too_large",
            f"the request line and headers are limited to {self.limits.max_header_bytes} "
            "bytes (OKTA_ALERTS_MAX_HEADER_BYTES)",
        )

    def _arm(self, seconds: float, reason: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, reason)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, reason: str) -> None:
        self._deadline = None
        what = "headers" if reason == "header_timeout" else "body"
        if self.cycle is not None and self.cycle.response_started:
            self._count(reason)
            self.transport.close()  # the app already answers: no second answer
            return
        seconds = self.limits.header_seconds if what == "headers" else self.limits.body_seconds
        self._refuse(408, reason, f"the request's {what} did not arrive within {seconds:g} s")

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer ``status`` and close the connection (after the linger)."""
        if self._closing:
            return
        self._closing = True
        self._disarm()
        self._count(reason)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's answer, if any, goes nowhere
            self.cycle.message_event.set()
        body = orjson.dumps({"error": reason, "detail": detail})
        phrase = http.HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)

    def _count(self, reason: str) -> None:
        if self.refused is not None:
            self.refused.labels(reason).inc()


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a refused connection."""


def bounded_protocol(limits: Limits, refused: Counter | None = None) -> type[BoundedProtocol]:
    """A :class:`BoundedProtocol` class with ``limits``, counting refusals in ``refused``."""

    class Bounded(BoundedProtocol):
        pass

    Bounded.limits = limits
    Bounded.refused = refused
    return Bounded
