"""``okta-alerts backfill``: fill the store from the System Log API, resumably and idempotently.

One bounded query (``since``..``until``, the configured event types) is paged through its next
links. Each page is made durable (the store's journal, or the running receiver's ``200``) and
only then is the next link saved in ``data/backfill.json``; a rerun with the same arguments
continues an interrupted run from there. The store keeps the first copy of each ``uuid``, so
events the hook already delivered are not duplicated, and neither is a page fetched twice.

Every page is stored with ``delivery_id = "systemlog:backfill:<run>:<page>"`` — the mark the
``hook_gaps`` view uses to tell events found by the API from events the hook delivered.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from okta_alerts.config import Settings
from okta_alerts.errors import BackfillError
from okta_alerts.read.views import SYSTEMLOG
from okta_alerts.store.sink import open_sink
from okta_alerts.systemlog.client import ClientStats, Page, SystemLogClient
from okta_alerts.systemlog.cursors import (
    BACKFILL_FILE,
    BackfillCursor,
    describe_backfill,
    load_backfill_cursor,
    save_cursor,
)
from okta_alerts.times import okta_time

log = logging.getLogger("okta_alerts.systemlog.backfill")

SOURCE_PREFIX = SYSTEMLOG  # delivery_id prefix of every batch fetched from the System Log


@dataclass
class BackfillResult:
    since: datetime
    until: datetime
    pages: int = 0
    events: int = 0  # valid events fetched and stored (repeats of stored events are dropped)
    skipped: int = 0  # events Okta returned that lack uuid/eventType/published
    resumed: bool = False
    done: bool = False
    via: str = ""
    stats: ClientStats = field(default_factory=ClientStats)

    def summary(self) -> str:
        state = "complete" if self.done else "interrupted (rerun the same command to continue)"
        waits = ""
        if self.stats.throttled or self.stats.paced_seconds:
            waits = (
                f"; waited {self.stats.paced_seconds + self.stats.throttled_seconds:.0f} s "
                f"for Okta's rate limit ({self.stats.throttled} x 429)"
            )
        return (
            f"backfill {okta_time(self.since)} .. {okta_time(self.until)} {state}: "
            f"{self.events} events in {self.pages} page(s){' (resumed)' if self.resumed else ''} "
            f"stored through {self.via}{waits}"
            + (f"; {self.skipped} malformed events skipped" if self.skipped else "")
        )


def run_backfill(
    settings: Settings,
    since: datetime,
    until: datetime | None = None,
    event_types: Sequence[str] | None = None,
    *,
    args: dict[str, object] | None = None,
    restart: bool = False,
    client: SystemLogClient | None = None,
    max_pages: int | None = None,
    on_page: Callable[[BackfillResult, Page], None] | None = None,
) -> BackfillResult:
    """Fetch ``since``..``until`` (default: now − ``poll_lag_seconds``) into the store.

    ``args`` are the arguments as the user typed them: an unfinished run is continued when they
    are the same, and refused otherwise unless ``restart``. ``max_pages`` stops early (the run
    stays resumable). ``on_page`` is called after each page is durable and its cursor saved.
    """
    types = tuple(event_types or settings.poll_event_types)
    path = settings.data_dir / BACKFILL_FILE
    key = {"org": settings.okta_org_url, "event_types": list(types), **(args or {})}
    own_client = client is None
    client = client or SystemLogClient.from_settings(settings)
    try:
        state = load_backfill_cursor(path)
        resumed = bool(state and not state.get("done") and not restart)
        if state and resumed and state.get("key") != key and not state.get("pages"):
            resumed = False  # it never stored a page: nothing to continue
        if state and resumed and state.get("key") != key:
            raise BackfillError(
                f"an unfinished backfill ({describe_backfill(state)}) is saved in {path}; rerun "
                "it with the same arguments to continue it, or add --restart to start a new one"
            )
        if not resumed or state is None:
            end = until or datetime.now(UTC) - timedelta(seconds=settings.poll_lag_seconds)
            state = {
                "version": 1,
                "key": key,
                "run": secrets.token_hex(4),
                "since": okta_time(since),
                "until": okta_time(end),
                "next": client.first_url(since, end, types),
                "pages": 0,
                "events": 0,
                "done": False,
                "started_at": okta_time(datetime.now(UTC)),
            }
            save_cursor(path, state)
        result = BackfillResult(
            since=datetime.fromisoformat(state["since"]),
            until=datetime.fromisoformat(state["until"]),
            pages=state["pages"],
            events=state["events"],
            resumed=resumed,
            done=state["done"],
            stats=client.stats,
        )
        if not result.done:
            _fetch_pages(settings, client, path, state, result, max_pages, on_page)
        return result
    finally:
        if own_client:
            client.close()


def _fetch_pages(
    settings: Settings,
    client: SystemLogClient,
    path: Path,
    state: BackfillCursor,
    result: BackfillResult,
    max_pages: int | None,
    on_page: Callable[[BackfillResult, Page], None] | None,
) -> None:
    first = state["next"]
    if first is None:  # only a finished run has no next page
        return
    with open_sink(settings, owner="okta-alerts backfill") as sink:
        result.via = sink.via
        for page in client.pages(first, max_pages=max_pages, prefetch=True):
            delivery = f"{SOURCE_PREFIX}backfill:{state['run']}:{state['pages'] + 1}"
            batch = page.found.batch(delivery)
            sink.write(batch)
            result.skipped += page.found.bad
            result.pages = state["pages"] = state["pages"] + 1
            result.events = state["events"] = state["events"] + batch.size
            state["last_published"] = page.found.last_published or state.get("last_published")
            state["next"] = page.next_url
            finished = page.next_url is None or page.next_url == page.url
            state["done"] = result.done = finished
            state["updated_at"] = okta_time(datetime.now(UTC))
            save_cursor(path, state)
            if on_page is not None:
                on_page(result, page)
            if finished:
                break
