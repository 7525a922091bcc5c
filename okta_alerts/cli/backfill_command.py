"""``okta-alerts backfill`` and ``okta-alerts poll``: the System Log API into the store."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from okta_alerts.cli.common import progress_option, settings_options, token_file_option
from okta_alerts.config import Settings, check_event_types
from okta_alerts.systemlog.backfill import BackfillResult, run_backfill
from okta_alerts.systemlog.client import Page, SystemLogClient
from okta_alerts.systemlog.poller import poll_once, run_poller
from okta_alerts.times import parse_time, parse_when


@click.command()
@settings_options
@click.option("--since", required=True, help="Start: a duration back from now (7d, 12h) or a time.")
@click.option(
    "--until",
    help="End: a duration back from now or a time (default: now minus "
    "OKTA_ALERTS_POLL_LAG_SECONDS, so the hook delivers recent events first).",
)
@click.option(
    "--event-type",
    "event_types",
    multiple=True,
    help="Fetch this event type (repeatable; `family*` for a family). "
    "Default: OKTA_ALERTS_POLL_EVENT_TYPES.",
)
@token_file_option
@click.option("--restart", is_flag=True, help="Forget an unfinished backfill and start anew.")
@progress_option
def backfill(
    settings: Settings,
    since: str,
    until: str | None,
    event_types: tuple[str, ...],
    restart: bool,
    progress: bool,
) -> None:
    """Fill the store with history from Okta's System Log API.

    Fetches the event types of OKTA_ALERTS_POLL_EVENT_TYPES (or --event-type) published between
    --since and --until, 1,000 per page, at the pace Okta's rate limit allows. The place is
    saved after every stored page in data/backfill.json: if the command is stopped, run it
    again with the same arguments and it continues. Events already stored (from the hook or an
    earlier run) are not stored twice. While a receiver runs on the data dir, the events are
    handed to it. Example: okta-alerts backfill --since 7d
    """
    now = datetime.now(UTC)
    try:
        types = check_event_types(event_types) if event_types else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--event-type") from None
    start = _when(since, now, "--since")
    end = _when(until, now, "--until") if until else None
    with _BackfillBar(progress) as bar:
        result = run_backfill(
            settings,
            start,
            end,
            types,
            args={"since": since, "until": until},
            restart=restart,
            on_page=bar.update,
        )
    click.echo(result.summary())


@click.command()
@settings_options
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    help="Seconds between polls (default: OKTA_ALERTS_POLL_SECONDS, or 60 when that is 0).",
)
@click.option("--once", is_flag=True, help="Poll once and exit (for cron or systemd timers).")
@click.option(
    "--via-receiver",
    is_flag=True,
    help="Always hand the events to the running receiver, never take the store's writer lock "
    "(how `okta-alerts run` starts it next to the receiver).",
)
@token_file_option
def poll(settings: Settings, every: float | None, once: bool, via_receiver: bool) -> None:
    """Poll Okta's System Log for new events until Ctrl-C (or once, with --once).

    Uses Okta's polling mode with a cursor saved in data/poll.json, so a restart continues
    without gaps or duplicates. Stays OKTA_ALERTS_POLL_LAG_SECONDS behind real time so that
    the event hook delivers first; hook-eligible events found only here are hook gaps
    (okta-alerts status, view hook_gaps). While a receiver runs on the data dir, the events are
    handed to it. `okta-alerts run` does the same when OKTA_ALERTS_POLL_SECONDS > 0.
    """

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if once:
        with SystemLogClient.from_settings(settings) as client:
            result = poll_once(settings, client, prefer_receiver=via_receiver)
        held = f", {result.held_back} newer than the lag left for later" if result.held_back else ""
        click.echo(f"polled {result.pages} page(s): {result.events} new events stored{held}")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    interval = every or settings.poll_seconds or 60.0
    run_poller(settings, stop, prefer_receiver=via_receiver, interval=interval)
    click.echo("polling stopped")


class _BackfillBar:
    """A rich progress bar over the backfill's time range, on stderr (or nothing)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.task: TaskID | None = None

    def __enter__(self) -> _BackfillBar:
        if self.enabled:
            self.progress = Progress(
                TextColumn("backfill"),
                BarColumn(),
                TextColumn("{task.fields[events]} events, {task.fields[pages]} pages"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self.progress.start()
        return self

    def update(self, result: BackfillResult, page: Page) -> None:
        if not self.enabled:
            return
        span = (result.until - result.since).total_seconds()
        if self.task is None:
            self.task = self.progress.add_task("backfill", total=span, events=0, pages=0)
        done = span
        if page.found.last_published and not result.done:
            last = parse_time(page.found.last_published)
            done = min(span, max(0.0, (last - result.since).total_seconds()))
        self.progress.update(self.task, completed=done, events=result.events, pages=result.pages)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()


def _when(value: str, now: datetime, option: str) -> datetime:
    try:
        return parse_when(value, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
