"""A fake of Okta's System Log API (docs/okta.md §5) and Event Hooks Management API (§6, in
``tests/support/fake_eventhooks.py``) on loopback: the one mock in these tests.

A Starlette app under uvicorn in a thread. It serves a fixed set of LogEvents with real paging:
bounded queries (``until``) page through the events published in [since, until) sorted by
``published``; polling queries (no ``until``) page through the log in the order events were
*persisted* and always answer with a next link to poll later. Next links carry an opaque
``after`` cursor. It checks ``Authorization: SSWS <token>`` (401 otherwise), answers ``400`` for a
``since`` older than 180 days, and can be told to throttle (``429`` with ``X-Rate-Limit-*``
headers, either every Nth request or by a real per-window limit), to fail (``500 E0000009``
every Nth request), to be slow, or to point its next link at another host. Its event hooks
are ``fake.event_hooks`` (``read_only_hooks``: a token that may only read them).
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.fake_eventhooks import FakeEventHooks
from tests.support.ports import free_port

TOKEN = "00fakeSSWS-t0ken-4f9c2b7e1d8a6035-SECRET"
_TERM = re.compile(r'eventType (eq|sw) "([^"]+)"')


class RawEvent(dict[str, Any]):
    """An event the fake serves as the exact JSON ``text`` (repeated keys, odd nesting...); the
    dict holds the ``uuid``, ``published`` and ``eventType`` the fake filters and pages by."""

    def __init__(self, text: bytes, **keys: Any) -> None:
        super().__init__(keys)
        self.text = text


@dataclass
class Seen:
    """One request as the fake received it."""

    at: float  # time.time() on arrival
    params: dict[str, str]
    status: int = 200
    reset: int | None = None  # X-Rate-Limit-Reset of a 429


@dataclass
class FakeOkta:
    events: Iterable[dict[str, Any]] = ()
    token: str = TOKEN
    page_size: int = 1000  # at most this many events per page, whatever `limit` asks
    throttle_every: int = 0  # every Nth request gets 429 (reset: the next whole second)
    fail_every: int = 0  # every Nth request gets 500 E0000009
    slow_every: int = 0  # every Nth request sleeps `slow_seconds` before answering
    slow_seconds: float = 0.0
    delay: float = 0.0  # every request sleeps this long (to make runs long enough to kill)
    rate_limit: int = 0  # requests per `rate_window` seconds; 0 = unlimited
    rate_window: int = 1
    foreign_next: bool = False  # next links point to another host
    read_only_hooks: bool = False  # the token may read event hooks but not change them
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # (persisted at, event): the log in persistence order
        self.log: list[tuple[float, dict[str, Any]]] = []
        for event in sorted(self.events, key=lambda e: e["published"]):
            self.log.append((_ts(event["published"]), event))
        self._lock = threading.Lock()
        self._window: tuple[int, int] = (0, 0)  # (window index, requests used)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.event_hooks = FakeEventHooks(
            self._error, self._authorized, self.url, read_only=self.read_only_hooks
        )

    # -- control ------------------------------------------------------------------------------

    def add(self, events: Iterable[dict[str, Any]]) -> None:
        """Persist more events now (a later poll finds them)."""
        with self._lock:
            for event in events:
                self.log.append((time.time(), event))

    def matching(self, since: datetime, until: datetime, types: Iterable[str] = ()) -> set[str]:
        """uuids a bounded query for [since, until) and ``types`` should return."""
        allowed = _type_test(list(types))
        return {
            e["uuid"]
            for _, e in self.log
            if since.timestamp() <= _ts(e["published"]) < until.timestamp() and allowed(e)
        }

    def throttled(self) -> list[Seen]:
        return [r for r in self.requests if r.status == 429]

    def start(self) -> FakeOkta:
        routes = [Route("/api/v1/logs", self._logs, methods=["GET"]), *self.event_hooks.routes()]
        app = Starlette(routes=routes)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Okta did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None

    # -- the endpoint -------------------------------------------------------------------------

    async def _logs(self, request: Request) -> Response:
        params = dict(request.query_params)
        seen = Seen(time.time(), params)
        self.requests.append(seen)
        number = len(self.requests)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.slow_every and number % self.slow_every == 0:
            await asyncio.sleep(self.slow_seconds)
        if not self._authorized(request):
            return self._error(seen, 401, "E0000011", "Invalid token provided")
        limited = self._rate_limit(seen, number)
        if isinstance(limited, Response):
            return limited
        if self.fail_every and number % self.fail_every == 0:
            return self._error(seen, 500, "E0000009", "Internal Server Error")
        since = _parse_time(params.get("since")) or datetime.now(UTC) - timedelta(days=7)
        if since < datetime.now(UTC) - timedelta(days=180):
            return self._error(
                seen,
                400,
                "E0000001",
                "Api validation failed: since",
                "The since parameter is over 180 days prior to the current day.",
            )
        limit = min(int(params.get("limit", "100")), 1000, self.page_size)
        allowed = _type_test(_filter_terms(params.get("filter")))
        if "until" in params:
            body, after = self._bounded(params, since, limit, allowed)
        else:
            body, after = self._polling(params, since, limit, allowed)
        sent = [orjson.Fragment(e.text) if isinstance(e, RawEvent) else e for e in body]
        response = Response(orjson.dumps(sent), media_type="application/json")
        response.headers.update(limited)
        response.raw_headers.append((b"link", f'<{request.url}>; rel="self"'.encode()))
        if after is not None:
            base = "http://okta.example.com" if self.foreign_next else self.url
            query = urlencode({**params, "after": after})
            link = f'<{base}/api/v1/logs?{query}>; rel="next"'
            response.raw_headers.append((b"link", link.encode()))
        return response

    def _bounded(
        self, params: dict[str, str], since: datetime, limit: int, allowed: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        until = _parse_time(params["until"]) or datetime.now(UTC)
        with self._lock:
            found = sorted(
                (
                    e
                    for _, e in self.log
                    if since.timestamp() <= _ts(e["published"]) < until.timestamp() and allowed(e)
                ),
                key=lambda e: (e["published"], e["uuid"]),
            )
        offset = _cursor(params.get("after"), "b")
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        return page, _token("b", offset + limit) if more else None

    def _polling(
        self, params: dict[str, str], since: datetime, limit: int, allowed: Any
    ) -> tuple[list[dict[str, Any]], str]:
        position = _cursor(params.get("after"), "p")
        page: list[dict[str, Any]] = []
        with self._lock:
            index = position
            while index < len(self.log) and len(page) < limit:
                persisted, event = self.log[index]
                index += 1
                if persisted >= since.timestamp() and allowed(event):
                    page.append(event)
        return page, _token("p", index)

    def _rate_limit(self, seen: Seen, number: int) -> Response | dict[str, str]:
        now = time.time()
        if self.throttle_every and number % self.throttle_every == 0:
            seen.reset = int(now) + 1
            return self._throttle(seen, self.rate_limit or 60, 0)
        if not self.rate_limit:
            return {}
        index = int(now // self.rate_window)
        with self._lock:
            used = self._window[1] if self._window[0] == index else 0
            seen.reset = (index + 1) * self.rate_window
            if used >= self.rate_limit:
                return self._throttle(seen, self.rate_limit, 0)
            self._window = (index, used + 1)
        return {
            "X-Rate-Limit-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": str(self.rate_limit - used - 1),
            "X-Rate-Limit-Reset": str(seen.reset),
        }

    def _throttle(self, seen: Seen, limit: int, remaining: int) -> Response:
        response = self._error(
            seen, 429, "E0000047", "API call exceeded rate limit due to too many requests."
        )
        response.headers.update(
            {
                "X-Rate-Limit-Limit": str(limit),
                "X-Rate-Limit-Remaining": str(remaining),
                "X-Rate-Limit-Reset": str(seen.reset),
            }
        )
        return response

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"SSWS {self.token}"

    def _error(
        self, seen: Seen | None, status: int, code: str, summary: str, cause: str = ""
    ) -> Response:
        if seen is not None:
            seen.status = status
        body: dict[str, Any] = {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae-fake",
            "errorCauses": [{"errorSummary": cause}] if cause else [],
        }
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _filter_terms(text: str | None) -> list[str]:
    return [name + ("*" if op == "sw" else "") for op, name in _TERM.findall(text or "")]


def _type_test(types: list[str]) -> Any:
    if not types:
        return lambda event: True
    exact = {t for t in types if not t.endswith("*")}
    prefixes = tuple(t[:-1] for t in types if t.endswith("*"))
    return lambda event: event["eventType"] in exact or event["eventType"].startswith(prefixes)


def _token(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def _cursor(after: str | None, kind: str) -> int:
    if not after:
        return 0
    found, value = base64.urlsafe_b64decode(after).decode().split(":")
    assert found == kind, "a cursor of another query type"
    return int(value)


TYPES = (
    "user.account.lock",  # hook-eligible
    "user.account.lock.limit",  # not eligible
    "application.provision.user.push",  # eligible
    "application.provision.group_membership.add",  # not eligible, a family member
    "user.session.start",  # eligible, not polled by default
)


def sample_events(count: int, end: datetime, step: timedelta = timedelta(seconds=30)) -> list[dict]:
    """``count`` events ending ``step`` before ``end``, cycling through :data:`TYPES`."""
    from tests.support.factories import make_event

    return [
        make_event(
            TYPES[i % len(TYPES)],
            end - step * (count - i),
            actor=f"user{i % 7}@example.com",
            result="FAILURE" if i % 3 == 0 else "SUCCESS",
        )
        for i in range(count)
    ]
