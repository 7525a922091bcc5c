"""Scheduled notebook runs: the YAML schedule, the loop, run history, failure notices, retention.

Each job runs ``notebooks/<notebook>.ipynb`` through :func:`okta_alerts.reports.run_report` on a
cron expression (croniter) in its time zone. Every run is recorded in state (job, slot, start,
end, status, output, error); a failed run queues a failure notice through apprise. After
downtime, a job whose last recorded slot is older than its latest due slot runs once (for that
slot), not once per missed slot; a job that never ran waits for its next slot. Outputs older
than the job's ``keep`` are deleted from ``data/reports/<job>/`` after each run.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import croniter

from okta_alerts.config import Settings
from okta_alerts.errors import OktaAlertsError, ScheduleError
from okta_alerts.rules import parse_duration
from okta_alerts.state import open_state

log = logging.getLogger(__name__)
JOB_KEYS = ("name", "notebook", "cron", "timezone", "parameters", "notify", "keep", "enabled")
RESERVED = ("send_notifications", "data_dir")  # set by the scheduler from `notify` and settings
DEFAULT_KEEP = timedelta(days=30)
MAX_SLEEP = 60.0  # re-check the clock at least this often (suspend, clock changes)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Job:
    name: str
    notebook: str
    cron: str
    timezone: ZoneInfo
    parameters: Mapping[str, Any] = field(default_factory=dict)
    notify: bool = False
    keep: timedelta = DEFAULT_KEEP
    enabled: bool = True

    def previous_slot(self, now: datetime) -> datetime:
        return croniter(self.cron, now.astimezone(self.timezone)).get_prev(datetime)

    def next_slot(self, after: datetime) -> datetime:
        return croniter(self.cron, after.astimezone(self.timezone)).get_next(datetime)


@dataclass(frozen=True)
class RunOutcome:
    job: str
    status: str  # ok | failed | interrupted
    output: str | None
    error: str | None
    seconds: float


# (settings, job, parameters, output directory) -> path of the report written
Runner = Callable[[Settings, Job, dict[str, Any], Path], "str | None"]


def load_schedule(path: str | Path) -> list[Job]:
    """Read and validate a schedule file; errors name the job and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ScheduleError(
            f"schedule file {path} does not exist (set OKTA_ALERTS_SCHEDULE)"
        ) from None
    except yaml.YAMLError as exc:
        raise ScheduleError(f"schedule file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"timezone", "jobs"}:
        raise ScheduleError(f"{path}: expected a mapping with `timezone` and `jobs`")
    default_zone = _zone(data.get("timezone", "UTC"), f"{path}: timezone")
    jobs: list[Job] = []
    for position, raw in enumerate(data.get("jobs") or [], start=1):
        job = _job(raw, position, default_zone, f"{path}: ")
        if any(j.name == job.name for j in jobs):
            raise ScheduleError(f"{path}: job {job.name!r}: name is used by two jobs")
        jobs.append(job)
    return jobs


def _job(raw: Any, position: int, zone: ZoneInfo, where: str) -> Job:
    if not isinstance(raw, dict):
        raise ScheduleError(f"{where}job #{position} must be a mapping")
    name = raw.get("name")
    label = f"{where}job {name!r}" if isinstance(name, str) else f"{where}job #{position}"
    unknown = set(raw) - set(JOB_KEYS)
    if unknown:
        raise ScheduleError(
            f"{label}: unknown key {sorted(unknown)[0]!r}; known: {', '.join(JOB_KEYS)}"
        )
    for key in ("name", "notebook", "cron"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ScheduleError(f"{label}: key {key!r} is required (text)")
    for key in ("name", "notebook"):
        if not _NAME.match(raw[key]):
            raise ScheduleError(
                f"{label}: key {key!r}: {raw[key]!r} must be letters, digits, . _ -"
            )
    if not croniter.is_valid(raw["cron"]):
        raise ScheduleError(f"{label}: key 'cron': {raw['cron']!r} is not a cron expression")
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise ScheduleError(f"{label}: key 'parameters' must be a mapping of names to values")
    for reserved in RESERVED:
        if reserved in parameters:
            raise ScheduleError(f"{label}: key 'parameters': {reserved} is set by the scheduler")
    flags = {k: raw.get(k, k == "enabled") for k in ("notify", "enabled")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ScheduleError(f"{label}: key {key!r} must be true or false")
    try:
        keep = parse_duration(raw["keep"]) if "keep" in raw else DEFAULT_KEEP
    except ValueError as exc:
        raise ScheduleError(f"{label}: key 'keep': {exc}") from None
    job_zone = _zone(raw["timezone"], f"{label}: key 'timezone'") if "timezone" in raw else zone
    return Job(raw["name"], raw["notebook"], raw["cron"], job_zone, parameters, keep=keep, **flags)


def _zone(value: Any, label: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{label}: {value!r} is not a time zone like UTC") from None


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
    if once:
        return [run_job(settings, job, None, run, clock) for job in jobs]
    stop = stop_event or threading.Event()
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
            outcomes.append(run_job(settings, job, slots[job.name], run, clock))
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
) -> RunOutcome:
    """Run one job, record it, send a failure notice if it failed, then apply retention."""
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
        output = runner(settings, job, parameters, output_dir)
    except KeyboardInterrupt:
        status, error = "interrupted", "stopped by a signal"
        raise
    except Exception as exc:  # any failure of a run is recorded and reported, never fatal
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
    from okta_alerts.notify import deliver_pending, escape_markdown, load_targets

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
            f"Job {job.name} (notebook {job.notebook}) failed at {now:%Y-%m-%d %H:%M} UTC.",
            f"Error: {error}",
            f"Output: {output}" if output else "No output was written.",
        ]
        text = "\n".join(lines)
        state.queue(
            now,
            kind="failure",
            title=title,
            markdown=escape_markdown(text).replace("\n", "\n\n"),
            text=text,
            notify_type="failure",
            targets=[t.id for t in targets],
        )
        delivery = deliver_pending(state, targets, now)
        for failure in delivery.failures:
            log.error("failure notice not delivered (stays pending): %s", failure)


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
        from okta_alerts.reports import run_report

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
