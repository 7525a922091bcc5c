"""Okta's rate limits as a client meets them (docs/okta.md §5): waits and pacing.

Every answer carries ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and
``X-Rate-Limit-Reset`` (epoch seconds by Okta's clock). A ``429`` is answered by waiting until
the reset; when few requests are left in the window, the next ones are spread out until the
reset, so the client is rarely throttled at all.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

log = logging.getLogger("okta_alerts.systemlog.ratelimit")

CLOCK_SKEW_TOLERANCE = 2.0  # seconds; beyond this, rate-limit resets use Okta's Date header


class Pacer:
    """Waits before requests as the rate-limit headers ask; each wait returns the seconds slept.

    ``max_wait`` caps one wait for a reset; below ``low_remaining`` (a fraction of the limit)
    requests left in the window, the rest are spread until the reset.
    """

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 300.0,
        low_remaining: float = 0.2,
    ) -> None:
        self.max_wait = max_wait
        self.low_remaining = low_remaining
        self._sleep = sleep
        self._not_before = 0.0  # monotonic time before which the next request waits

    def pace(self) -> float:
        """Wait until the next request is due after the last :meth:`plan`."""
        delay = self._not_before - time.monotonic()
        if delay <= 0:
            return 0.0
        self._sleep(delay)
        return delay

    def throttled(self, response: httpx.Response, default: float) -> float:
        """Wait for the reset after a ``429`` (``default`` seconds when it names none)."""
        delay = self.reset_delay(response, default)
        log.info("Okta rate limit reached (429); waiting %.1f s for the reset", delay)
        self._sleep(delay)
        return delay

    def plan(self, response: httpx.Response) -> None:
        """When few requests are left in this rate-limit window, spread them until the reset."""
        remaining = int_header(response, "x-rate-limit-remaining")
        limit = int_header(response, "x-rate-limit-limit")
        if remaining is None:
            return
        low = max(1, math.ceil((limit or 0) * self.low_remaining))
        if remaining > low:
            return
        until_reset = self.reset_delay(response, default=0.0)
        delay = until_reset if remaining == 0 else until_reset / remaining
        if delay > 0:
            log.debug("%d requests left in this rate-limit window; pacing %.2f s", remaining, delay)
        self._not_before = time.monotonic() + delay

    def reset_delay(self, response: httpx.Response, default: float) -> float:
        """Seconds until X-Rate-Limit-Reset (epoch seconds by Okta's clock), at most
        ``max_wait``."""
        reset = int_header(response, "x-rate-limit-reset")
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


def int_header(response: httpx.Response, name: str) -> int | None:
    """The header ``name`` as an integer, or None when it is missing or not a number."""
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
