"""``okta-alerts simulate``: realistic Okta traffic to a receiver URL or straight into a store."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings
from okta_alerts.sim.hookclient import post_deliveries
from okta_alerts.sim.simulate import SCENARIOS, batch_deliveries, event_batches, generate_events
from okta_alerts.store.writer import write_batches

STORE_BATCH = 2000


def _parse_end(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 time like 2026-05-01T12:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _epilog() -> str:
    lines = [f"  {name:<21} {scenario.description}" for name, scenario in SCENARIOS.items()]
    return "\b\nScenarios:\n" + "\n".join(lines)


@click.command(epilog=_epilog())
@settings_options
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same traffic.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    type=click.Choice(list(SCENARIOS)),
    help="Inject a named scenario on top of the background (repeatable; see below).",
)
@click.option("--url", help="POST event-hook deliveries here (after Okta's verification GET).")
@click.option(
    "--to-store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the events straight into the store of this data directory instead.",
)
@click.option(
    "--days", type=click.FloatRange(min=0, min_open=True),
    help="Length in days (default 1 with --to-store).",
)  # fmt: skip
@click.option(
    "--hours", type=click.FloatRange(min=0, min_open=True),
    help="Length in hours (default 1 with --url).",
)  # fmt: skip
@click.option("--end", callback=_parse_end, help="ISO-8601 end of the traffic (default: now, UTC).")
@click.option(
    "--rate", type=click.FloatRange(min=0), default=200.0, show_default=True,
    help="Background events per hour (on average; busier in working hours).",
)  # fmt: skip
@click.option(
    "--users", type=click.IntRange(min=1), default=500, show_default=True,
    help="Users in the simulated org.",
)  # fmt: skip
@click.option(
    "--batch", type=click.IntRange(min=1), default=50, show_default=True,
    help="Most events per delivery (sizes vary like Okta's).",
)  # fmt: skip
@click.option(
    "--duplicates", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    help="Fraction of deliveries re-sent later (at-least-once).",
)  # fmt: skip
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
    help="Deliveries in flight at once.",
)  # fmt: skip
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
    help="Seconds to wait for each answer (one retry after a timeout or 5xx).",
)  # fmt: skip
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
def simulate(
    settings: Settings,
    seed: int,
    scenarios: tuple[str, ...],
    url: str | None,
    to_store: Path | None,
    days: float | None,
    hours: float | None,
    end: datetime,
    rate: float,
    users: int,
    batch: int,
    duplicates: float,
    concurrency: int,
    timeout: float,
    progress: bool | None,
) -> None:
    """Generate realistic Okta System Log traffic from a seed: users, apps, IPs and places,
    sign-ins busier in working hours, lockouts, assignment and provisioning errors, and named
    scenarios.

    With --url, the events go to a receiver as event-hook deliveries with the configured auth and
    custom headers, batched and retried like Okta (and re-sent with --duplicates). With --to-store,
    --days of history are written straight into a data directory's store.
    """
    if (url is None) == (to_store is None):
        raise click.UsageError("give exactly one of --url URL or --to-store DIR")
    if days is not None and hours is not None:
        raise click.UsageError("give --days or --hours, not both")
    if days is not None:
        length = timedelta(days=days)
    elif hours is not None:
        length = timedelta(hours=hours)
    else:
        length = timedelta(hours=1) if url else timedelta(days=1)
    show = sys.stderr.isatty() if progress is None else progress

    events = _Counted(generate_events(seed, end - length, end, scenarios, rate, users))
    if url is not None:
        _post(settings, url, events, seed, batch, duplicates, concurrency, timeout, show)
    else:
        assert to_store is not None
        _store(settings.model_copy(update={"data_dir": to_store}), events, show)


def _post(
    settings: Settings,
    url: str,
    events: _Counted,
    seed: int,
    batch: int,
    duplicates: float,
    concurrency: int,
    timeout: float,
    show: bool,
) -> None:

    envelopes = batch_deliveries(events, seed, max_batch=batch, duplicate_rate=duplicates)
    result = post_deliveries(url, envelopes, settings.hook_headers(), concurrency, timeout, show)
    click.echo(f"simulate: {events.count} events generated; {result.summary()}")
    if result.rejected:
        for status, text in result.errors:
            click.echo(
                f"  rejected: {f'HTTP {status}' if status else 'no answer'}: {text}", err=True
            )
        raise click.exceptions.Exit(1)


def _store(settings: Settings, events: _Counted, show: bool) -> None:

    with Progress(
        SpinnerColumn(),
        TextColumn("storing: {task.completed} events"),
        TimeElapsedColumn(),
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("store", total=None)
        events.on_chunk = lambda n: bar.advance(task, n)
        stored = write_batches(settings, event_batches(events, STORE_BATCH))
    click.echo(f"simulate: {events.count} events generated, {stored} stored in {settings.data_dir}")


class _Counted:
    """Counts events as they pass; calls ``on_chunk(n)`` every 1000."""

    def __init__(self, events: Iterable[dict[str, Any]]) -> None:
        self.events = events
        self.count = 0
        self.on_chunk: Any = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            self.count += 1
            if self.on_chunk is not None and self.count % 1000 == 0:
                self.on_chunk(1000)
            yield event
