"""Store commands: ingest, query, status, compact."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from okta_alerts.cli.common import progress_option, settings_options
from okta_alerts.config import Settings
from okta_alerts.read.connect import connect
from okta_alerts.read.query import run_query, to_csv, to_json
from okta_alerts.store.ingest import ingest_files
from okta_alerts.store.manifest import read_manifest
from okta_alerts.store.status import store_status
from okta_alerts.store.writer import open_writer
from okta_alerts.systemlog.status import status_lines, system_log_status


@click.command()
@settings_options
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@progress_option
def ingest(settings: Settings, paths: tuple[Path, ...], progress: bool) -> None:
    """Store Okta LogEvents from files: NDJSON, a JSON array (what the System Log API returns),
    or event-hook envelopes; gzip is detected.

    Bad lines are reported with their line numbers and skipped; the good ones are stored. Exits 1
    if any line was bad. Events already stored are not stored again. While a receiver owns the
    data dir, the events are handed to it (its /hooks/okta endpoint, with the configured headers).
    """
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn())
    with Progress(*columns, TimeRemainingColumn(), disable=not progress, transient=True) as bar:
        task = bar.add_task("ingesting", total=sum(p.stat().st_size for p in paths))
        report = ingest_files(settings, list(paths), lambda p: bar.advance(task, p.stat().st_size))
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)
    if report.bad > len(report.problems):
        click.echo(f"... and {report.bad - len(report.problems)} more bad items", err=True)
    click.echo(
        f"read {report.files} file(s): {report.events} events stored or already present "
        f"(through {report.via}), {report.bad} bad item(s) skipped"
    )
    if report.bad:
        raise SystemExit(1)


@click.command()
@settings_options
@click.argument("sql")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True,
)  # fmt: skip
@click.option("--limit", type=int, default=None, help="Print at most this many rows.")
def query(settings: Settings, sql: str, fmt: str, limit: int | None) -> None:
    """Run read-only SQL over the views events, lockouts, unlocks, assignment_errors, hook_gaps.

    Example: okta-alerts query "SELECT event_type, count(*) FROM events GROUP BY 1" --format csv
    """
    columns, rows = run_query(connect(settings.data_dir), sql, limit)
    if fmt == "json":
        click.echo(to_json(columns, rows))
    elif fmt == "csv":
        click.echo(to_csv(columns, rows), nl=False)
    else:
        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console(width=max(100, Console().width)).print(table)
        click.echo(f"{len(rows)} row(s)")


@click.command()
@settings_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(settings: Settings, as_json: bool) -> None:
    """Show the store: parts, events, bytes, oldest and newest event, seal lag, writer, events
    dropped by the retention and events dated in the future; System Log polling and backfill."""
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
        f"parts:          {info.parts} (compacted)",
        f"on disk:        {info.bytes_on_disk} bytes ({per_event})",
        f"unsealed:       {info.journals} journal(s), {info.journal_bytes} bytes",
        f"lag:            {info.lag_seconds:.1f} s",
        f"retired files:  {info.retired} (deleted after the grace period)",
        f"expired:        {info.expired_events} event(s) dropped for being older than the "
        f"retention ({settings.retention_days} days)",
        f"future-dated:   {info.future_events} event(s) published more than a day from now",
        *status_lines(system_log),
    ]
    click.echo("\n".join(lines))


@click.command()
@settings_options
def compact(settings: Settings) -> None:
    """Seal what a stopped writer left, merge parts and drop events past the retention.

    The receiver does this by itself every OKTA_ALERTS_COMPACT_SECONDS; this command is for a
    stopped receiver (it is refused while one runs).
    """
    before = read_manifest(settings.events_dir)
    with open_writer(settings, owner="okta-alerts compact") as writer:  # seals and compacts
        writer.compact()  # also applies the retention and deletes files past the grace period
        after = writer.manifest
    click.echo(
        f"compacted: {len(before.parts)} part(s) → {len(after.parts)} part(s), {after.rows} events"
    )
