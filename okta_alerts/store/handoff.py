"""Hand events to the receiver that owns the data dir, through its authenticated endpoint.

A data dir has one writer. When a receiver owns it, ``ingest``, ``backfill`` and the poller POST
their batches to the receiver's ``/hooks/okta`` as event-hook envelopes with the configured
authentication and custom headers, exactly as Okta would; the receiver's ``200`` means the
events are durable (its no-loss rule), and its uuid deduplication applies as for any delivery.
The batch's ``delivery_id`` travels as the envelope's ``eventId``, so the source of each event
(hook delivery or ``systemlog:...``) is kept. The receiver's address comes from its lock note
(``okta-alerts serve on HOST:PORT``), else from ``OKTA_ALERTS_HOST``/``OKTA_ALERTS_PORT``;
a wildcard listen address means loopback.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import orjson
import tenacity

from okta_alerts.config import Settings
from okta_alerts.errors import HandoffError, HandoffRefusedError, RetryableError
from okta_alerts.okta.delivery import Batch, hook_envelope

_LISTENS_ON = re.compile(r" on (\S+):(\d+)(?:\s|$)")
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "[::1]", "": "127.0.0.1"}
_SOURCE = "okta-alerts hand-off"  # the envelopes' ``source``


def receiver_url(settings: Settings, holder: str | None = None) -> str:
    """The running receiver's hook URL: from its lock note if it names one, else the settings."""
    host, port = settings.host, settings.port
    found = _LISTENS_ON.search(holder or "")
    if found:
        host, port = found.group(1), int(found.group(2))
    host = _WILDCARDS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/hooks/okta"


class ReceiverSender:
    """POSTs batches to one running receiver; :meth:`send` returns once they are durable."""

    def __init__(self, settings: Settings, holder: str | None = None, attempts: int = 3) -> None:
        self.url = receiver_url(settings, holder)
        self.holder = holder or "a receiver"
        self.where = settings.events_dir
        self.max_body = settings.max_body_bytes
        self.seal_seconds = settings.seal_seconds
        self.attempts = attempts
        self.events = 0
        self._last_ack: float | None = None
        self._headers = {
            **settings.hook_headers(),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "okta-alerts hand-off",
        }
        self._http = httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0))

    def __enter__(self) -> ReceiverSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, batch: Batch) -> None:
        for body, count in self._bodies(batch):
            self._post(body)
            self.events += count

    def wait_visible(self, timeout: float | None = None) -> bool:
        """Wait until the receiver has sealed what it acknowledged to us (readers see it)."""
        if self._last_ack is None:
            return True
        deadline = time.monotonic() + (timeout or max(30.0, 4 * self.seal_seconds))
        health = self.url.rsplit("/hooks/okta", 1)[0] + "/healthz"
        while time.monotonic() < deadline:
            asked = time.monotonic()
            try:
                lag = float(self._http.get(health, timeout=10.0).json()["store_lag_seconds"])
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                lag = None  # busy or restarting: ask again
            # The oldest unsealed acknowledgement is younger than ours: ours is sealed.
            if lag is not None and (lag == 0 or lag < asked - self._last_ack):
                return True
            time.sleep(min(0.25, self.seal_seconds / 4))
        return False

    def _bodies(self, batch: Batch) -> Iterator[tuple[bytes, int]]:
        """Serialized envelopes under the size limit, splitting the batch as needed."""
        pending = [batch.events]
        while pending:
            events = pending.pop()
            when = datetime.now(UTC).isoformat(timespec="milliseconds")
            body = orjson.dumps(hook_envelope(events, batch.delivery_id, _SOURCE, when))
            if len(body) <= self.max_body * 0.9 or len(events) == 1:
                yield body, len(events)
            else:
                half = len(events) // 2
                pending += [events[half:], events[:half]]

    def _post(self, body: bytes) -> None:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(RetryableError),
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=0.2, max=5.0) + tenacity.wait_random(0, 0.2),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._post_once(body)
        except RetryableError as exc:
            raise HandoffError(
                f"{self.where} is in use by {self.holder}, and it did not take the events at "
                f"{self.url} ({exc}); start that receiver again (or set OKTA_ALERTS_HOST/"
                "OKTA_ALERTS_PORT to where it listens), or stop it and rerun"
            ) from None

    def _post_once(self, body: bytes) -> None:
        try:
            response = self._http.post(self.url, content=body, headers=self._headers)
        except httpx.TransportError as exc:
            raise RetryableError(f"{type(exc).__name__}") from None
        if response.status_code >= 500:
            raise RetryableError(f"HTTP {response.status_code}")
        if response.status_code in (401, 403):
            raise HandoffRefusedError(
                f"the receiver at {self.url} refused the hand-off (HTTP {response.status_code}: "
                f"{answer_detail(response)}); set OKTA_ALERTS_AUTH_SECRET, "
                "OKTA_ALERTS_AUTH_HEADER and OKTA_ALERTS_CUSTOM_HEADERS to the receiver's values"
            )
        if response.status_code >= 300:
            raise HandoffRefusedError(
                f"the receiver at {self.url} rejected the hand-off (HTTP {response.status_code}: "
                f"{answer_detail(response)}); is OKTA_ALERTS_MAX_BODY_BYTES the receiver's?"
            )
        self._last_ack = time.monotonic()


def answer_detail(response: httpx.Response) -> str:
    """What a receiver's error answer says: ``error: detail`` of its JSON body, else its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(error, str):
        detail = body.get("detail")
        return error + (f": {detail}" if isinstance(detail, str) else "")
    text = response.text.strip()[:200]
    return text or response.reason_phrase or f"HTTP {response.status_code}"
