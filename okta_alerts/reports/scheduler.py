"""Running the schedule: the loop, run history in state, failure notices, output retention.

Each job runs on its cron expression: a report job runs ``notebooks/<notebook>.ipynb`` through
:func:`okta_alerts.reports.runner.run_report`; an alert check (``alerts: true``) runs
:func:`okta_alerts.alerts.check.check_alerts` at the run's time, as ``okta-alerts alerts check``
does. Every run is recorded in state (job, slot, start, end, status, output,
error); a failed run queues a failure notice through apprise. After downtime, a job whose last
recorded slot is older than its latest due slot runs once (for that slot), not once per missed
slot; a job that never ran waits for its next slot. Outputs older than the job's ``keep`` are
deleted from ``data/reports/<job>/`` after each run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from okta_alerts.alerts.check import check_alerts
from okta_alerts.alerts.notify import deliver_pending, load_targets
from okta_alerts.alerts.state import open_state
from okta_alerts.config import Settings
from okta_alerts.errors import NotifyError, OktaAlertsError
from okta_alerts.reports.runner import run_report
from okta_alerts.reports.schedule import Job, load_schedule

log = logging.getLogger(__name__)
MAX_SLEEP = 60.0  # re-check the clock at least this often (suspend, clock changes)


@dataclass(frozen=True)
class RunOutcome:
    job: str
    status: str  # ok | failed | interrupted
    output: str | None
    error: str | None
    seconds: float


# (settings, job, parameters, output directory) -> path of the report written
Runner = Callable[[Settings, Job, dict[str, Any], Path], "str | None"]


def due_jobs(
    jobs: list[Job], last_slots: Mapping[str, datetime], now: datetime
) -> dict[str, datetime | None]:
    """For each enabled job, the slot to run at start-up (missed ones once) or None (wait)."""
    due: dict[str, datetime | None] = {}
    for job in jobs:
        if job.enabled:
            latest, last = job.previous_slot(now), last_slots.get(job.name)
            due[job.name] = latest if last is not None and last < latest else None
    return due


def run_schedule(
    settings: Settings,
    once: bool = False,
    stop_event: threading.Event | None = None,
    runner: Runner | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[RunOutcome]:
    """Run the schedule: with ``once`` every enabled job once, now; else until ``stop_event``."""
    jobs = [j for j in load_schedule(settings.schedule) if j.enabled]
    run = runner or report_runner()
    stop = stop_event or threading.Event()
    if once:
        return [run_job(settings, job, None, run, clock, stop) for job in jobs]
    with open_state(settings) as state:
        if state.interrupt_runs(clock()):
            log.warning("marked runs left running by a stopped scheduler as interrupted")
        catch_up = due_jobs(jobs, state.last_slots(), clock())
    slots = {j.name: catch_up[j.name] or j.next_slot(clock()) for j in jobs}
    if not jobs:
        log.warning("the schedule %s has no enabled jobs; waiting for a stop", settings.schedule)
    outcomes: list[RunOutcome] = []
    while not stop.is_set():
        for job in sorted(jobs, key=lambda j: slots[j.name]):
            if stop.is_set() or slots[job.name] > clock():
                continue
            outcomes.append(run_job(settings, job, slots[job.name], run, clock, stop))
            slots[job.name] = job.next_slot(max(clock(), slots[job.name]))
        soonest = min(slots.values(), default=None)
        wait = MAX_SLEEP if soonest is None else (soonest - clock()).total_seconds()
        stop.wait(min(max(wait, 0.0), MAX_SLEEP))
    return outcomes


def run_job(
    settings: Settings,
    job: Job,
    slot: datetime | None,
    runner: Runner,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    stopping: threading.Event | None = None,
) -> RunOutcome:
    """Run one job, record it, send a failure notice if it failed, then apply retention.

    A job that fails while ``stopping`` is set was cut short by the stop (DuckDB answers a
    signal during a query with an error of its own): it is recorded as interrupted.
    """
    output_dir = settings.reports_dir / job.name
    parameters = {
        **job.parameters,
        "send_notifications": job.notify,
        "data_dir": str(settings.data_dir.resolve()),
    }
    if job.notify and "rules" not in parameters:
        parameters["rules"] = str(Path(settings.rules).resolve())
    with open_state(settings) as state:
        run_id = state.start_run(job.name, job.notebook, slot, clock())
    started, status, output, error = time.monotonic(), "ok", None, None
    try:
        if job.alerts:
            alert_check(settings, clock())
        else:
            output = runner(settings, job, parameters, output_dir)
    except KeyboardInterrupt:
        status, error = "interrupted", "stopped by a signal"
        raise
    except Exception as exc:  # any failure of a run is recorded and reported, never fatal
        if stopping is not None and stopping.is_set():
            status, error = "interrupted", "stopped by a signal"
            raise KeyboardInterrupt from exc
        status, error = "failed", _one_line(exc)
        output = _failed_output(exc)
    finally:
        _finish(settings, run_id, job, status, output, error, clock())
    prune_outputs(output_dir, job.keep, clock())
    seconds = time.monotonic() - started
    log.info("job %s: %s in %.1f s%s", job.name, status, seconds, f" ({output})" if output else "")
    return RunOutcome(job.name, status, output, error, seconds)


def _finish(
    settings: Settings,
    run_id: int,
    job: Job,
    status: str,
    output: str | None,
    error: str | None,
    now: datetime,
) -> None:
    with open_state(settings) as state:
        state.finish_run(run_id, now, status, output, error)
        if status != "failed":
            return
        log.error("job %s failed: %s", job.name, error)
        try:
            targets = load_targets(settings)
        except OktaAlertsError as exc:
            log.error("no failure notice sent: %s", exc)
            return
        if not targets:
            return
        title = f"okta-alerts: scheduled job {job.name} failed"
        lines = [
            f"Job {job.name} ({job.what}) failed at {now:%Y-%m-%d %H:%M} UTC.",
            f"Error: {error}",
            f"Output: {output}" if output else "No output was written.",
        ]
        text = "\n".join(lines)
        state.queue(
            now,
            kind="failure",
            title=title,
            body=text,
            body_format="text",
            notify_type="failure",
            targets=[t.id for t in targets],
        )
        delivery = deliver_pending(state, targets, now)
        for failure in delivery.failures:
            log.error("failure notice not delivered (stays pending): %s", failure)


def alert_check(settings: Settings, now: datetime) -> None:
    """An alert check job: evaluate the rules at ``now`` and notify; undelivered digests fail it
    (they stay pending and are retried by the next check, as with ``alerts check``)."""
    result = check_alerts(settings, now=now)
    log.info("alert check: %s", result.summary())
    if result.failures:
        raise NotifyError(
            f"could not deliver to {'; '.join(result.failures)}; the digest stays pending "
            "and is retried by the next check"
        )


def _one_line(exc: BaseException) -> str:
    """``ename: evalue`` of a failed cell (papermill), else the first line that says something."""
    if getattr(exc, "ename", None):
        cell = getattr(exc, "exec_count", None)
        where = f" in cell [{cell}]" if cell is not None else ""
        return f"{exc.ename}: {getattr(exc, 'evalue', '')}{where}"[:500]  # type: ignore[attr-defined]
    lines = [line.strip() for line in str(exc).splitlines() if line.strip(" -")]
    return (lines[0] if lines else repr(exc))[:500]


def _failed_output(exc: BaseException) -> str | None:
    for name in ("output_path", "notebook", "path"):
        value = getattr(exc, name, None)
        if value:
            return str(value)
    return None


def report_runner(notebooks_dir: Path | None = None) -> Runner:
    """The default runner: :func:`okta_alerts.reports.run_report` (HTML and ipynb) into the
    job's output directory; ``notebooks_dir`` defaults to the project's ``notebooks/``."""

    def run(settings: Settings, job: Job, parameters: dict[str, Any], output: Path) -> str:
        assert job.notebook is not None  # alert checks run without a runner
        result = run_report(
            settings, job.notebook, parameters, output_dir=output, notebooks_dir=notebooks_dir
        )
        return str(result.html or result.notebook or output)

    return run


def prune_outputs(directory: Path, keep: timedelta, now: datetime) -> list[Path]:
    """Delete the files in ``directory`` last modified more than ``keep`` before ``now``."""
    if not directory.is_dir():
        return []
    cutoff = (now - keep).timestamp()
    removed = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("deleted %d outputs older than %s from %s", len(removed), keep, directory)
    return removed
