"""A client of Okta's System Log API (``GET /api/v1/logs``, docs/okta.md §5).

It builds the first request (``since``/``until``/``filter``/``limit=1000``) and then only follows
the ``Link: <...>; rel="next"`` header, as Okta asks. It is polite and persistent: it honours
``429`` by waiting until ``X-Rate-Limit-Reset``, spreads its requests out when
``X-Rate-Limit-Remaining`` gets low (so it is rarely throttled at all), and retries ``5xx``
(``E0000009`` is Okta's 30-second query timeout) and network timeouts with capped exponential
backoff and jitter (tenacity). The API token goes only into the ``Authorization`` header of
requests to the configured org: it is never logged, and no error message contains it.

The rate-limit waits are :mod:`~okta_alerts.systemlog.ratelimit`'s; the messages for Okta's
error answers come from :mod:`~okta_alerts.systemlog.refusals`.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, Unpack

import httpx
import tenacity

from okta_alerts.config import Settings
from okta_alerts.errors import ConfigError, RetryableError, SystemLogError
from okta_alerts.okta.pages import PageEvents
from okta_alerts.okta.typednames import TypedNames
from okta_alerts.redaction import typed_names
from okta_alerts.systemlog.ratelimit import Pacer
from okta_alerts.systemlog.refusals import error_summary, refusal
from okta_alerts.times import okta_time

log = logging.getLogger("okta_alerts.systemlog.client")

PAGE_LIMIT = 1000  # the API's maximum page size
MAX_SINCE_AGE = timedelta(days=180)  # older `since` values get 400 from Okta
MAX_THROTTLED = 30  # 429s in a row for one page before giving up
_NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)


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


class ClientOptions(TypedDict, total=False):
    """The keyword options of :class:`SystemLogClient`, as :meth:`~SystemLogClient.from_settings`
    passes them on."""

    timeout: float
    max_attempts: int
    backoff_initial: float
    backoff_max: float
    max_wait: float
    low_remaining: float
    sleep: Callable[[float], None]
    typed: TypedNames | None


def event_filter(event_types: Iterable[str]) -> str | None:
    """The SCIM filter for ``event_types``; ``family*`` becomes ``eventType sw "family"``."""
    terms = []
    for name in event_types:
        if name.endswith("*"):
            terms.append(f'eventType sw "{name[:-1]}"')
        else:
            terms.append(f'eventType eq "{name}"')
    return " or ".join(terms) or None


def authorization(token: str, scheme: str = "auto") -> str:
    """The Authorization header value: ``SSWS`` for API tokens, ``Bearer`` for OAuth tokens."""
    if scheme == "auto":
        scheme = "Bearer" if token.count(".") == 2 and token.startswith("eyJ") else "SSWS"
    return f"{scheme} {token}"


def okta_http(token: str, scheme: str, timeout: float, base_url: str = "") -> httpx.Client:
    """An HTTP client for Okta's APIs: the token's Authorization header, JSON, no redirects
    (a redirect would carry the token elsewhere)."""
    return httpx.Client(
        base_url=base_url,
        headers={
            "Authorization": authorization(token, scheme),
            "Accept": "application/json",
            "User-Agent": "okta-alerts",
        },
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=False,
    )


def org_credentials(settings: Settings) -> tuple[str, str]:
    """The org URL and API token of ``settings``; ConfigError when there is no org URL."""
    if not settings.okta_org_url:
        raise ConfigError(
            "no Okta org URL: set OKTA_ALERTS_OKTA_ORG_URL, e.g. https://acme.okta.com"
        )
    token = settings.okta_api_token.get_secret_value() if settings.okta_api_token else ""
    return settings.okta_org_url, token


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
        typed: TypedNames | None = None,
    ) -> None:
        """``typed``: hash what unknown actors typed in every page (okta.typednames)."""
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
        self.stats = ClientStats()
        self._sleep = sleep
        self.typed = typed
        self._pacer = Pacer(sleep, max_wait, low_remaining)
        self._http = okta_http(token, scheme, timeout)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Unpack[ClientOptions]) -> SystemLogClient:
        org_url, token = org_credentials(settings)
        options.setdefault("typed", typed_names(settings))
        return cls(org_url, token, scheme=settings.okta_auth_scheme, **options)

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
            retry=tenacity.retry_if_exception_type(RetryableError),
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
        except RetryableError as exc:
            raise SystemLogError(
                f"Okta's System Log API at {self.org_url} kept failing ({exc}) after "
                f"{self.max_attempts} attempts; try again later (the saved cursor keeps your place)"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one request --------------------------------------------------------------------------

    def _fetch_once(self, url: str) -> Page:
        for _ in range(MAX_THROTTLED):
            self.stats.paced_seconds += self._pacer.pace()
            self.stats.requests += 1
            try:
                response = self._http.get(url)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise RetryableError(f"{type(exc).__name__} talking to {self.org_url}") from None
            if response.status_code == 429:
                self.stats.throttled += 1
                waited = self._pacer.throttled(response, default=self.backoff_initial)
                self.stats.throttled_seconds += waited
                continue
            if response.status_code >= 500:
                summary = self._redact(error_summary(response))
                raise RetryableError(f"HTTP {response.status_code} {summary}")
            if response.status_code != 200:
                raise SystemLogError(self._redact(refusal(response, self.org_url)))
            self._pacer.plan(response)
            return Page(url, self._events(response), self._next_link(response))
        raise SystemLogError(
            f"Okta kept answering 429 (rate limited) {MAX_THROTTLED} times in a row; another "
            "client may be using this token's rate limit. Try again later"
        )

    def _events(self, response: httpx.Response) -> PageEvents:
        try:
            return PageEvents(response.content, self.typed)
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

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _before_retry(self, state: tenacity.RetryCallState) -> None:
        self.stats.retried += 1
        wait = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        log.warning("System Log request failed (%s); retrying in %.1f s", error, wait)
