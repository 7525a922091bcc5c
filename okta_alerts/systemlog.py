"""A client of Okta's System Log API (``GET /api/v1/logs``, OKTA.md §5).

It builds the first request (``since``/``until``/``filter``/``limit=1000``) and then only follows
the ``Link: <...>; rel="next"`` header, as Okta asks. It is polite and persistent: it honours
``429`` by waiting until ``X-Rate-Limit-Reset``, spreads its requests out when
``X-Rate-Limit-Remaining`` gets low (so it is rarely throttled at all), and retries ``5xx``
(``E0000009`` is Okta's 30-second query timeout) and network timeouts with capped exponential
backoff and jitter (tenacity). The API token goes only into the ``Authorization`` header of
requests to the configured org: it is never logged, and no error message contains it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import tenacity

from okta_alerts.config import Settings
from okta_alerts.errors import ConfigError, OktaAlertsError
from okta_alerts.events import PageEvents

log = logging.getLogger("okta_alerts.systemlog")

PAGE_LIMIT = 1000  # the API's maximum page size
MAX_SINCE_AGE = timedelta(days=180)  # older `since` values get 400 from Okta
MAX_THROTTLED = 30  # 429s in a row for one page before giving up
CLOCK_SKEW_TOLERANCE = 2.0  # seconds; beyond this, rate-limit resets use Okta's Date header
_NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)


class SystemLogError(OktaAlertsError):
    """The System Log API could not be read; the message says why and what to change."""

    exit_code = 5


@dataclass(frozen=True, slots=True)
class Page:
    """One answer of the API: its events (checked, as sent) and the next link, if any."""

    url: str
    found: PageEvents
    next_url: str | None

    @property
    def events(self) -> list[dict[str, Any]]:
        """The page's storable events as dicts (decoded on each call; for small pages)."""
        return self.found.batch(None).events


@dataclass
class ClientStats:
    requests: int = 0
    throttled: int = 0  # 429 answers
    retried: int = 0  # 5xx answers and network errors that were retried
    paced_seconds: float = 0.0  # slept because X-Rate-Limit-Remaining was low
    throttled_seconds: float = 0.0  # slept because of 429


class _Retryable(Exception):
    """A 5xx answer or a network error: worth another try after a backoff."""


def event_filter(event_types: Iterable[str]) -> str | None:
    """The SCIM filter for ``event_types``; ``family*`` becomes ``eventType sw "family"``."""
    terms = []
    for name in event_types:
        if name.endswith("*"):
            terms.append(f'eventType sw "{name[:-1]}"')
        else:
            terms.append(f'eventType eq "{name}"')
    return " or ".join(terms) or None


def okta_time(when: datetime) -> str:
    """Okta's timestamp format: UTC with milliseconds and a Z."""
    text = when.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def authorization(token: str, scheme: str = "auto") -> str:
    """The Authorization header value: ``SSWS`` for API tokens, ``Bearer`` for OAuth tokens."""
    if scheme == "auto":
        scheme = "Bearer" if token.count(".") == 2 and token.startswith("eyJ") else "SSWS"
    return f"{scheme} {token}"


class SystemLogClient:
    """Reads pages of the System Log of one org. Use as a context manager (or call close)."""

    def __init__(
        self,
        org_url: str,
        token: str,
        *,
        scheme: str = "auto",
        timeout: float = 60.0,
        max_attempts: int = 8,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        max_wait: float = 300.0,
        low_remaining: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ConfigError(
                "no Okta API token: set OKTA_ALERTS_OKTA_API_TOKEN or pass --token-file"
            )
        self.org_url = org_url.rstrip("/")
        self._origin = httpx.URL(self.org_url)
        self._token = token
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_wait = max_wait
        self.low_remaining = low_remaining
        self.stats = ClientStats()
        self._sleep = sleep
        self._not_before = 0.0  # monotonic time before which the next request waits (pacing)
        self._http = httpx.Client(
            headers={
                "Authorization": authorization(token, scheme),
                "Accept": "application/json",
                "User-Agent": "okta-alerts",
            },
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> SystemLogClient:
        if not settings.okta_org_url:
            raise ConfigError(
                "no Okta org URL: set OKTA_ALERTS_OKTA_ORG_URL, e.g. https://acme.okta.com"
            )
        token = settings.okta_api_token.get_secret_value() if settings.okta_api_token else ""
        return cls(settings.okta_org_url, token, scheme=settings.okta_auth_scheme, **options)

    def __enter__(self) -> SystemLogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- queries ------------------------------------------------------------------------------

    def first_url(
        self,
        since: datetime,
        until: datetime | None = None,
        event_types: Iterable[str] = (),
        now: datetime | None = None,
    ) -> str:
        """The URL of a query's first page: bounded with ``until``, polling mode without."""
        now = now or datetime.now(UTC)
        if since < now - MAX_SINCE_AGE:
            raise SystemLogError(
                f"since {okta_time(since)} is more than 180 days ago, which Okta's System Log "
                "API refuses (it keeps 90 days of events); use --since 90d or later"
            )
        if until is not None and until <= since:
            raise SystemLogError(
                f"until {okta_time(until)} is not after since {okta_time(since)}; "
                "pass an --until later than --since"
            )
        params: dict[str, str] = {"since": okta_time(since), "limit": str(PAGE_LIMIT)}
        if until is not None:
            params["until"] = okta_time(until)
        query = event_filter(event_types)
        if query:
            params["filter"] = query
        params["sortOrder"] = "ASCENDING"
        return str(self._origin.join("/api/v1/logs").copy_merge_params(params))

    def pages(
        self, url: str, max_pages: int | None = None, prefetch: bool = False
    ) -> Iterator[Page]:
        """Fetch ``url`` and follow next links until there is none (a bounded query ends).

        With ``prefetch``, the next page is requested (on a daemon thread, one request at a
        time) while the caller handles the current one, so storing and fetching overlap.
        """
        count = 0
        waiting = self._prefetching(url) if prefetch else None
        while max_pages is None or count < max_pages:
            page = waiting() if waiting else self.fetch(url)
            count += 1
            next_url = page.next_url if page.next_url != url else None
            waiting = None
            if prefetch and next_url and (max_pages is None or count < max_pages):
                waiting = self._prefetching(next_url)
            yield page
            if next_url is None:
                return
            url = next_url

    def _prefetching(self, url: str) -> Callable[[], Page]:
        """Start fetching ``url`` now; the returned function waits for that page."""
        done: queue.Queue[Page | BaseException] = queue.Queue(maxsize=1)

        def run() -> None:
            try:
                done.put(self.fetch(url))
            except BaseException as exc:  # handed over to the caller's thread
                done.put(exc)

        threading.Thread(target=run, name="okta-alerts-prefetch", daemon=True).start()

        def result() -> Page:
            found = done.get()
            if isinstance(found, BaseException):
                raise found
            return found

        return result

    def fetch(self, url: str) -> Page:
        """One page, after any pacing wait, 429 waits and retries of 5xx/timeouts."""
        self._check_origin(url)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max)
            + tenacity.wait_random(0, self.backoff_initial),
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._fetch_once(url)
        except _Retryable as exc:
            raise SystemLogError(
                f"Okta's System Log API at {self.org_url} kept failing ({exc}) after "
                f"{self.max_attempts} attempts; try again later (the saved cursor keeps your place)"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one request --------------------------------------------------------------------------

    def _fetch_once(self, url: str) -> Page:
        for _ in range(MAX_THROTTLED):
            self._pace()
            self.stats.requests += 1
            try:
                response = self._http.get(url)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise _Retryable(f"{type(exc).__name__} talking to {self.org_url}") from None
            if response.status_code == 429:
                self.stats.throttled += 1
                delay = self._reset_delay(response, default=self.backoff_initial)
                log.info("Okta rate limit reached (429); waiting %.1f s for the reset", delay)
                self.stats.throttled_seconds += delay
                self._sleep(delay)
                continue
            if response.status_code >= 500:
                summary = self._redact(_error_summary(response))
                raise _Retryable(f"HTTP {response.status_code} {summary}")
            if response.status_code != 200:
                raise SystemLogError(self._redact(self._refusal(response)))
            self._plan_pacing(response)
            return Page(url, self._events(response), self._next_link(response))
        raise SystemLogError(
            f"Okta kept answering 429 (rate limited) {MAX_THROTTLED} times in a row; another "
            "client may be using this token's rate limit. Try again later"
        )

    def _events(self, response: httpx.Response) -> PageEvents:
        try:
            return PageEvents(response.content)
        except ValueError:
            raise SystemLogError(
                f"{self.org_url}/api/v1/logs did not answer a JSON array of events; "
                "is OKTA_ALERTS_OKTA_ORG_URL your Okta org's URL?"
            ) from None

    def _next_link(self, response: httpx.Response) -> str | None:
        for value in response.headers.get_list("link"):
            for found in _NEXT_LINK.finditer(value):
                link = str(response.url.join(found.group(1)))
                self._check_origin(link)
                return link
        return None

    def _check_origin(self, url: str) -> None:
        target = httpx.URL(url)
        if (target.scheme, target.host, target.port) != (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        ):
            raise SystemLogError(
                f"refusing to send the API token to {target.scheme}://{target.host}: it is not "
                f"the configured org {self.org_url}"
            )

    def _refusal(self, response: httpx.Response) -> str:
        status = response.status_code
        what = f"Okta's System Log API answered HTTP {status} ({_error_summary(response)})"
        if status == 401:
            return (
                f"{what}: the API token was not accepted; check OKTA_ALERTS_OKTA_API_TOKEN or "
                "--token-file (an SSWS API token, or an OAuth access token; set "
                "OKTA_ALERTS_OKTA_AUTH_SCHEME if the wrong scheme was guessed)"
            )
        if status == 403:
            return (
                f"{what}: the token may not read the System Log; it needs the okta.logs.read "
                "scope or an admin role that can view the System Log"
            )
        if status == 400:
            return f"{what}: check --since/--until (at most 180 days ago) and the event types"
        if status == 404:
            return f"{what}: is OKTA_ALERTS_OKTA_ORG_URL ({self.org_url}) your Okta org's URL?"
        return what

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _before_retry(self, state: tenacity.RetryCallState) -> None:
        self.stats.retried += 1
        wait = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        log.warning("System Log request failed (%s); retrying in %.1f s", error, wait)

    # -- rate limits --------------------------------------------------------------------------

    def _pace(self) -> None:
        delay = self._not_before - time.monotonic()
        if delay > 0:
            self.stats.paced_seconds += delay
            self._sleep(delay)

    def _plan_pacing(self, response: httpx.Response) -> None:
        """When few requests are left in this rate-limit window, spread them until the reset."""
        remaining = _int_header(response, "x-rate-limit-remaining")
        limit = _int_header(response, "x-rate-limit-limit")
        if remaining is None:
            return
        low = max(1, math.ceil((limit or 0) * self.low_remaining))
        if remaining > low:
            return
        until_reset = self._reset_delay(response, default=0.0)
        delay = until_reset if remaining == 0 else until_reset / remaining
        if delay > 0:
            log.debug("%d requests left in this rate-limit window; pacing %.2f s", remaining, delay)
        self._not_before = time.monotonic() + delay

    def _reset_delay(self, response: httpx.Response, default: float) -> float:
        """Seconds until X-Rate-Limit-Reset (epoch seconds by Okta's clock)."""
        reset = _int_header(response, "x-rate-limit-reset")
        if reset is None:
            return default
        now = time.time()
        date = response.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                server = parsedate_to_datetime(date).timestamp()
                if abs(server + 0.5 - now) > CLOCK_SKEW_TOLERANCE:
                    now = server  # our clock is off: use Okta's (rounded down: never early)
        return min(self.max_wait, max(0.0, reset - now))


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _error_summary(response: httpx.Response) -> str:
    """Okta's ``errorCode: errorSummary`` of an error answer, or a short text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code, summary = body.get("errorCode"), body.get("errorSummary")
        causes = [
            c.get("errorSummary")
            for c in body.get("errorCauses") or []
            if isinstance(c, dict) and isinstance(c.get("errorSummary"), str)
        ]
        parts = [p for p in (code, summary, *causes) if isinstance(p, str) and p]
        if parts:
            return ": ".join(parts)[:300]
    return response.reason_phrase or "no details"
