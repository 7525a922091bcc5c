"""``okta-alerts schedule`` (the scheduler) and ``okta-alerts run`` (receiver + scheduler)."""

from __future__ import annotations

import logging
import signal
import threading

import click

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings
from okta_alerts.errors import OktaAlertsError
from okta_alerts.reports.schedule import load_schedule
from okta_alerts.reports.scheduler import run_schedule
from okta_alerts.supervisor import main_job_commands, supervise


@click.command("schedule")
@click.option("--once", is_flag=True, help="Run every job once now and exit (system cron, CI).")
@settings_options
def schedule(settings: Settings, once: bool) -> None:
    """Run the notebooks of the schedule file on their cron times, until Ctrl-C / SIGTERM.

    Each run is recorded in the state database; a failed run sends a failure notice through
    apprise; after downtime a missed job runs once; old outputs are deleted per job `keep`.
    """
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:  # Ctrl-C and SIGTERM: stop where we are
        stopping.set()
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    _log_to_stderr()
    jobs = [j for j in load_schedule(settings.schedule) if j.enabled]
    if once:
        outcomes = run_schedule(settings, once=True, stop_event=stopping)
        for o in outcomes:
            click.echo(f"{o.status.upper():6} {o.job} in {o.seconds:.1f} s: {o.output or o.error}")
        failed = [o.job for o in outcomes if o.status != "ok"]
        if failed:
            raise OktaAlertsError(
                f"{len(failed)} of {len(outcomes)} jobs failed: {', '.join(failed)}"
            )
        return
    click.echo(f"Scheduler: {len(jobs)} jobs from {settings.schedule}; Ctrl-C to stop.", err=True)
    try:
        run_schedule(settings, stop_event=stopping)
    except Exception:
        if not stopping.is_set():  # DuckDB answers a signal during a query with its own error
            raise
    except KeyboardInterrupt:
        pass
    click.echo("Scheduler stopped.", err=True)


@click.command("run")
@click.option("--host", help="Receiver address (default: $OKTA_ALERTS_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Receiver port (default: $OKTA_ALERTS_PORT or 8080).")
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Receiver accepts deliveries without the authentication header (local tests only).",
)
@settings_options
def run(settings: Settings, host: str | None, port: int | None, insecure_no_auth: bool) -> None:
    """The main job: the receiver and the scheduler together, until Ctrl-C / SIGTERM.

    Starts `okta-alerts serve` and `okta-alerts schedule` (and `okta-alerts poll` when
    OKTA_ALERTS_POLL_SECONDS > 0) as child processes with these settings, forwards Ctrl-C /
    SIGTERM to them and waits for them to stop. If one stops on its own, the others are
    stopped too and the exit code is non-zero.
    """
    stopped = supervise(settings, main_job_commands(settings, host, port, insecure_no_auth))
    click.echo(f"Stopped: {', '.join(stopped)}.", err=True)


def _log_to_stderr() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
