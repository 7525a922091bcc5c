"""Store commands: ingest, query, status, compact."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings


@click.command()
@settings_options
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
def ingest(settings: Settings, paths: tuple[Path, ...], progress: bool | None) -> None:
    """Store Okta LogEvents from files: NDJSON, a JSON array (what the System Log API returns),
    or event-hook envelopes; gzip is detected.

    Bad lines are reported with their line numbers and skipped; the good ones are stored. Exits 1
    if any line was bad. Events already stored are not stored again. While a receiver owns the
    data dir, the events are handed to it (its /hooks/okta endpoint, with the configured headers).
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from okta_alerts.errors import StoreLockedError
    from okta_alerts.handoff import send_to_receiver
    from okta_alerts.ingest import IngestReport, batches_from_files
    from okta_alerts.status import lock_holder
    from okta_alerts.store import write_batches

    report = IngestReport()
    show = sys.stderr.isatty() if progress is None else progress
    total = sum(p.stat().st_size for p in paths)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("ingesting", total=total)
        batches = batches_from_files(
            list(paths), report, lambda p: bar.advance(task, p.stat().st_size)
        )
        lock = settings.events_dir / "writer.lock"
        holder, received = lock_holder(lock), None
        if holder is None:
            try:
                received = write_batches(settings, batches)
            except StoreLockedError:  # a receiver started meanwhile (before any batch was read)
                holder = lock_holder(lock)
        if received is None:  # a receiver owns the data dir: hand the events to it
            received = send_to_receiver(settings, batches, holder)
            click.echo(f"a receiver owns {settings.data_dir}: handed the events to it", err=True)
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)
    if report.bad > len(report.problems):
        click.echo(f"... and {report.bad - len(report.problems)} more bad items", err=True)
    click.echo(
        f"read {report.files} file(s): {received} events stored or already present, "
        f"{report.bad} bad item(s) skipped"
    )
    if report.bad:
        raise SystemExit(1)


@click.command()
@settings_options
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--limit", type=int, default=None, help="Print at most this many rows.")
def query(settings: Settings, sql: str, fmt: str, limit: int | None) -> None:
    """Run read-only SQL over the views events, lockouts, unlocks, assignment_errors.

    Example: okta-alerts query "SELECT event_type, count(*) FROM events GROUP BY 1" --format csv
    """
    import okta_alerts
    from okta_alerts.query import run_query, to_csv, to_json

    con = okta_alerts.connect(settings.data_dir)
    columns, rows = run_query(con, sql, limit)
    if fmt == "json":
        click.echo(to_json(columns, rows))
    elif fmt == "csv":
        click.echo(to_csv(columns, rows), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console(width=max(100, Console().width)).print(table)
        click.echo(f"{len(rows)} row(s)")


@click.command()
@settings_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(settings: Settings, as_json: bool) -> None:
    """Show the store: segments, daily files, events, bytes, newest event, seal lag, writer."""
    from dataclasses import asdict

    import orjson

    from okta_alerts.hookhealth import status_lines, system_log_status
    from okta_alerts.status import store_status

    info = store_status(settings.events_dir)
    system_log = system_log_status(settings)
    if as_json:
        body = asdict(info) | {"bytes_per_event": info.bytes_per_event} | system_log
        click.echo(orjson.dumps(body, default=str, option=orjson.OPT_INDENT_2).decode())
        return
    per_event = f"{info.bytes_per_event:.0f} B/event" if info.bytes_per_event else "-"
    lines = [
        f"store:          {info.events_dir}",
        f"writer:         {info.writer or 'none running'}",
        f"events:         {info.events}",
        f"oldest event:   {info.oldest_event or '-'}",
        f"newest event:   {info.newest_event or '-'}",
        f"daily files:    {info.daily_files}",
        f"segments:       {info.segments} (awaiting compaction)",
        f"on disk:        {info.bytes_on_disk} bytes ({per_event})",
        f"unsealed:       {info.journals} journal(s), {info.journal_bytes} bytes",
        f"lag:            {info.lag_seconds:.1f} s",
        f"retired files:  {info.retired} (deleted after the grace period)",
        *status_lines(system_log),
    ]
    click.echo("\n".join(lines))


@click.command()
@settings_options
def compact(settings: Settings) -> None:
    """Merge sealed segments into daily files and drop events past the retention.

    The receiver does this by itself every OKTA_ALERTS_COMPACT_SECONDS; this command is for a
    stopped receiver (it is refused while one runs).
    """
    from okta_alerts.manifest import read_manifest
    from okta_alerts.store import open_writer

    before = read_manifest(settings.events_dir)
    with open_writer(settings, owner="okta-alerts compact") as writer:  # seals and compacts
        writer.compact()  # also applies the retention and deletes files past the grace period
        after = writer.manifest
    click.echo(
        f"compacted: {len(before.segments)} segment(s) and {len(before.daily)} daily file(s) "
        f"→ {len(after.daily)} daily file(s), {after.rows} events"
    )


COMMANDS = [ingest, query, status, compact]
