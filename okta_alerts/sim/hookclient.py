"""Okta's sending side of an event hook (docs/okta.md §1-§2): verify once, then POST deliveries.

Like Okta, a delivery is retried once after a timeout, a network error or a ``5xx``, never after
a ``4xx``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import NamedTuple

import httpx
import orjson
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from okta_alerts.errors import OktaAlertsError
from okta_alerts.okta.delivery import HookEnvelope
from okta_alerts.store.handoff import answer_detail

BASE_HEADERS = {
    "Accept": "application/json",
    "User-Agent": "Okta-Integrations",
}
KEPT_ERRORS = 5


@dataclass
class PostResult:
    """What happened to the deliveries; ``errors`` keeps (status or None, text) of the first few."""

    sent: int = 0
    acknowledged: int = 0
    rejected: int = 0
    retried: int = 0
    duplicates: int = 0
    events_sent: int = 0
    events_acknowledged: int = 0
    errors: list[tuple[int | None, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.sent} deliveries ({self.duplicates} duplicates re-sent): "
            f"{self.acknowledged} acknowledged, {self.rejected} rejected, {self.retried} retried; "
            f"{self.events_acknowledged} of {self.events_sent} events acknowledged"
        )


class _Outcome(NamedTuple):
    """What became of one delivery."""

    retries: int
    status: int | None  # the last HTTP status, None without an answer
    error: str | None  # None when acknowledged
    events: int


def post_deliveries(
    url: str,
    envelopes: Iterable[HookEnvelope],
    headers: dict[str, str],
    concurrency: int = 4,
    timeout: float = 10.0,
    progress: bool = False,
) -> PostResult:
    """Verify ``url`` like Okta, then POST every envelope with at most ``concurrency`` in flight."""
    if concurrency < 1:
        raise OktaAlertsError(f"concurrency must be at least 1, not {concurrency}")
    if not url.startswith(("http://", "https://")):
        raise OktaAlertsError(f"the hook URL must start with http:// or https://, not {url[:40]!r}")
    result = PostResult()
    seen: set[str] = set()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(timeout=timeout, limits=limits))
        verify(client, url, headers)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=concurrency))
        bar = stack.enter_context(_Progress(progress))
        pending: set[Future[_Outcome]] = set()
        post_headers = {**BASE_HEADERS, "Content-Type": "application/json", **headers}
        for envelope in envelopes:
            event_id = envelope.get("eventId")
            if event_id in seen:
                result.duplicates += 1
            elif isinstance(event_id, str):
                seen.add(event_id)
            pending.add(pool.submit(_post, client, url, post_headers, envelope))
            if len(pending) >= 2 * concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                _count(result, done, bar)
        _count(result, pending, bar)
    return result


def verify(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
    """Okta's one-time verification GET; raise :class:`OktaAlertsError` if it is not answered."""
    challenge = secrets.token_urlsafe(24)
    get_headers = {**BASE_HEADERS, **headers, "X-Okta-Verification-Challenge": challenge}
    response: httpx.Response | None = None
    problem = "no answer"
    for _ in range(2):
        try:
            response = client.get(url, headers=get_headers)
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code < 500:
            break
    if response is None:
        raise OktaAlertsError(
            f"cannot reach {url} for Okta's verification GET ({problem}); is the receiver running?"
        )
    if response.status_code != 200:
        raise OktaAlertsError(
            f"verification GET {url} answered HTTP {response.status_code} "
            f"({answer_detail(response)}); check the auth header name and secret settings"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("verification") != challenge:
        raise OktaAlertsError(
            f'verification GET {url} answered 200 without {{"verification": <challenge>}}; '
            "is this an okta-alerts receiver URL?"
        )


def _post(
    client: httpx.Client, url: str, headers: dict[str, str], envelope: HookEnvelope
) -> _Outcome:
    """POST one envelope, retried once after no answer or a ``5xx``."""
    body = orjson.dumps(envelope)
    events = len(envelope["data"]["events"])
    status: int | None = None
    error: str | None = None
    for attempt in range(2):
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            status, error = None, f"no response: {type(exc).__name__}: {exc}"
            continue
        status = response.status_code
        error = None if 200 <= status < 300 else answer_detail(response)
        if status < 500:
            return _Outcome(attempt, status, error, events)
    return _Outcome(1, status, error, events)


def _count(result: PostResult, done: Iterable[Future[_Outcome]], bar: _Progress) -> None:
    for future in done:
        retried, status, error, events = future.result()
        result.sent += 1
        result.retried += retried
        result.events_sent += events
        if error is None:
            result.acknowledged += 1
            result.events_acknowledged += events
        else:
            result.rejected += 1
            if len(result.errors) < KEPT_ERRORS:
                result.errors.append((status, error))
        bar.advance(events)


class _Progress:
    """A rich progress line of deliveries and events on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> _Progress:
        if self.enabled:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn(
                    "posting: {task.fields[deliveries]} deliveries, {task.completed} events"
                ),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self.progress.start()
            self.task = self.progress.add_task("post", total=None, deliveries=0)
            self.deliveries = 0
        return self

    def advance(self, events: int) -> None:
        if self.enabled:
            self.deliveries += 1
            self.progress.update(self.task, advance=events, deliveries=self.deliveries)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()
