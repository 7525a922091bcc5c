"""Polling the System Log: Okta's polling mode with a saved cursor, a fixed lag behind real time.

A polling query has ``since`` and no ``until``; Okta then always answers with a next link that
is the place to continue from later (docs/okta.md §5), even across restarts: it is saved in
``data/poll.json`` after every committed page.

The poller stays ``poll_lag_seconds`` (default 10 min) behind real time on purpose. The store
keeps the first copy of each ``uuid``, and ``hook_gaps`` counts hook-eligible events whose first
copy came from the System Log: so the hook must have had its chance first. An event published
less than the lag ago is left for the next poll — the cursor stays on its page, and the page's
already-stored uuids are remembered (``seen``, at most one page) so they are not sent again. The
cursor moves on only once every event of a page is old enough. Nothing is skipped, nothing is
stored twice, and a restart continues from the saved cursor.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from okta_alerts.config import Settings
from okta_alerts.errors import OktaAlertsError, StopRequestedError
from okta_alerts.files import lock_holder
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.layout import WRITER_LOCK
from okta_alerts.store.sink import Sink, open_sink
from okta_alerts.systemlog.backfill import SOURCE_PREFIX
from okta_alerts.systemlog.client import PAGE_LIMIT, SystemLogClient, event_filter
from okta_alerts.systemlog.cursors import POLL_FILE, load_poll_cursor, save_cursor
from okta_alerts.times import okta_time, parse_time

log = logging.getLogger("okta_alerts.systemlog.poller")

FIRST_POLL_LOOKBACK = timedelta(hours=1)  # where a new polling query starts; older: backfill
MAX_PAGES_PER_POLL = 100  # then the next poll continues, so a stop request is seen soon


@dataclass
class PollResult:
    pages: int = 0
    events: int = 0  # events stored (or handed to the receiver) by this poll
    held_back: int = 0  # events younger than the lag, left for a later poll
    via: str = ""


def poll_once(
    settings: Settings,
    client: SystemLogClient,
    now: datetime | None = None,
    prefer_receiver: bool = False,
    max_pages: int = MAX_PAGES_PER_POLL,
) -> PollResult:
    """Fetch what is new since the saved cursor and store what is older than the lag."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.poll_lag_seconds)
    path = settings.data_dir / POLL_FILE
    query = {"org": settings.okta_org_url, "filter": event_filter(settings.poll_event_types)}
    state = load_poll_cursor(path)
    if state is None or state.get("query") != query:
        if state is not None:
            log.info("the polled org or event types changed: starting a new polling query")
        since = now - FIRST_POLL_LOOKBACK
        state = {
            "version": 1,
            "query": query,
            "next": client.first_url(since, None, settings.poll_event_types, now=now),
            "seen": [],
            "events": 0,
            "started_at": okta_time(now),
        }
    result = PollResult()
    sink: Sink | None = None
    with ExitStack() as stack:
        for _ in range(max_pages):
            url = state["next"]
            page = client.fetch(url)
            result.pages += 1
            seen = set(state["seen"])
            found = page.found
            ripe = [i for i, (_, p) in enumerate(found.keys) if parse_time(p) <= cutoff]
            new = [i for i in ripe if found.keys[i][0] not in seen]
            result.held_back = len(found.keys) - len(ripe)
            if new:
                if sink is None:
                    sink = stack.enter_context(
                        open_sink(settings, "okta-alerts poll", prefer_receiver, wait=False)
                    )
                    result.via = sink.via
                delivery = f"{SOURCE_PREFIX}poll:{okta_time(now)}:{result.pages}"
                raw, keys = [found.raw[i] for i in new], [found.keys[i] for i in new]
                sink.write(Batch(delivery, raw=raw, keys=keys))
                result.events += len(new)
            state["events"] = state.get("events", 0) + len(new)
            state["polled_at"] = okta_time(now)
            next_url = page.next_url
            if result.held_back or next_url is None or next_url == url:  # stay on this page
                state["seen"] = sorted(seen | {found.keys[i][0] for i in new})
                save_cursor(path, state)
                break
            state["next"], state["seen"] = next_url, []
            save_cursor(path, state)
            if page.found.size < PAGE_LIMIT:
                break  # caught up: the next link is where the next poll starts
    return result


def run_poller(
    settings: Settings,
    stop_event: threading.Event,
    *,
    prefer_receiver: bool = False,
    interval: float | None = None,
) -> None:
    """Poll every ``interval`` (default ``poll_seconds``) seconds until ``stop_event`` is set.

    A failed poll is logged and tried again at the next interval; the cursor keeps the place.
    Run it in a thread next to the receiver with ``prefer_receiver=True``: the events then always
    go to the receiver's endpoint and the poller never takes the store's writer lock.
    Raises :class:`OktaAlertsError` at once when the org URL or the token is missing.
    """
    every = settings.poll_seconds if interval is None else interval
    if every <= 0:
        log.info("System Log polling is off (OKTA_ALERTS_POLL_SECONDS = 0)")
        return

    def sleep(seconds: float) -> None:
        if stop_event.wait(seconds):
            raise StopRequestedError

    with SystemLogClient.from_settings(settings, sleep=sleep) as client:
        if prefer_receiver:
            _wait_for_receiver(settings, stop_event)
        log.info(
            "polling the System Log of %s every %.0f s, %.0f s behind real time",
            settings.okta_org_url,
            every,
            settings.poll_lag_seconds,
        )
        while not stop_event.is_set():
            started = time.monotonic()
            try:
                result = poll_once(settings, client, prefer_receiver=prefer_receiver)
            except StopRequestedError:
                break
            except OktaAlertsError as exc:
                log.warning("System Log poll failed: %s; trying again in %.0f s", exc, every)
            except Exception:
                log.exception("System Log poll failed unexpectedly; trying again in %.0f s", every)
            else:
                if result.events:
                    log.info(
                        "System Log poll: %d new events in %d page(s) stored through %s",
                        result.events,
                        result.pages,
                        result.via,
                    )
            stop_event.wait(max(0.0, every - (time.monotonic() - started)))


def _wait_for_receiver(
    settings: Settings, stop_event: threading.Event, timeout: float = 30.0
) -> None:
    """Started next to a receiver: give it a moment to own the data dir before the first poll."""
    deadline = time.monotonic() + timeout
    lock = settings.events_dir / WRITER_LOCK
    while lock_holder(lock) is None and time.monotonic() < deadline:
        if stop_event.wait(0.5):
            return
