"""The schedule file: jobs on cron times (run by :mod:`okta_alerts.reports.scheduler`).

:class:`ScheduleFile` is the file, a default ``timezone`` and a list of ``jobs``; :class:`Job` is
one job on a cron expression (croniter) in its time zone (the file's when it has none): either a
report, ``notebooks/<notebook>.ipynb`` with its ``parameters``, with alerts when ``notify`` and
its outputs kept for ``keep``; or an alert check (``alerts: true``), what ``okta-alerts alerts
check`` does, with no report. Both are pydantic models; every error names the file, the job (or
its position) and the key (:func:`okta_alerts.alerts.validation.explain`). How jobs run, catch
up and are recorded is the scheduler's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)

from okta_alerts.alerts.validation import (
    UTC_ZONE,
    Duration,
    Loc,
    Wording,
    Zone,
    explain,
    key_problem,
    read_yaml,
)
from okta_alerts.errors import ScheduleError

RESERVED = ("send_notifications", "data_dir")  # set by the scheduler from `notify` and settings
DEFAULT_KEEP = timedelta(days=30)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise key_problem("is required (text)")
    return value


def _name(value: Any) -> str:
    if not _NAME.match(_text(value)):
        raise ValueError(f"{value!r} must be letters, digits, . _ -")
    return str(value)


def _cron(value: Any) -> str:
    if not croniter.is_valid(_text(value)):
        raise ValueError(f"{value!r} is not a cron expression")
    return str(value)


def _parameters(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise key_problem("must be a mapping of names to values")
    for reserved in RESERVED:
        if reserved in value:
            raise ValueError(f"{reserved} is set by the scheduler")
    return dict(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise key_problem("must be true or false")
    return value


Name = Annotated[str, PlainValidator(_name)]
Flag = Annotated[bool, PlainValidator(_flag)]


class Job(BaseModel):
    """One job of the schedule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name  # unique: run history and data/reports/<name>/
    notebook: Name | None = None  # notebooks/<notebook>.ipynb; or, instead:
    alerts: Flag = False  # an alert check: evaluate the rules and notify, no report
    cron: Annotated[str, PlainValidator(_cron)]  # 5 fields, in the job's time zone
    timezone: Zone = UTC_ZONE
    parameters: Annotated[dict[str, Any], PlainValidator(_parameters)] = Field(default_factory=dict)
    notify: Flag = False  # run with send_notifications = true and the configured rules
    keep: Duration = DEFAULT_KEEP  # outputs older than this are deleted
    enabled: Flag = True

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise key_problem("must be a mapping")
        return data

    @model_validator(mode="after")
    def _a_report_or_an_alert_check(self) -> Job:
        if self.alerts == (self.notebook is not None):
            raise ValueError("give either `notebook` (a report) or `alerts: true` (an alert check)")
        if self.alerts and (self.parameters or self.notify):
            raise ValueError("an alert check (`alerts: true`) takes no `parameters` or `notify`")
        return self

    @property
    def what(self) -> str:
        """What the job runs, for logs and notices: ``notebook <name>`` or ``alert check``."""
        return "alert check" if self.alerts else f"notebook {self.notebook}"

    def previous_slot(self, now: datetime) -> datetime:
        """The latest cron time at or before ``now``."""
        slot: datetime = croniter(self.cron, now.astimezone(self.timezone)).get_prev(datetime)
        return slot

    def next_slot(self, after: datetime) -> datetime:
        """The first cron time after ``after``."""
        slot: datetime = croniter(self.cron, after.astimezone(self.timezone)).get_next(datetime)
        return slot


class ScheduleFile(BaseModel):
    """A schedule file: the default time zone of its jobs, and the jobs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: Zone = UTC_ZONE
    jobs: list[Job] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _jobs_take_the_file_zone(cls, data: Any) -> Any:
        """An empty file has no jobs; a job without a ``timezone`` takes the file's."""
        data = data or {}
        if not isinstance(data, dict) or set(data) - {"timezone", "jobs"}:
            raise ValueError("expected a mapping with `timezone` and `jobs`")
        jobs = data.get("jobs") or []
        if "timezone" in data and isinstance(jobs, list):
            zone = {"timezone": data["timezone"]}
            jobs = [{**zone, **job} if isinstance(job, dict) else job for job in jobs]
        return {**data, "jobs": jobs}

    @field_validator("jobs", mode="before")
    @classmethod
    def _a_list(cls, jobs: Any) -> Any:
        if not isinstance(jobs, list):
            raise key_problem("must be a list of jobs")
        return jobs


WORDING = Wording("key", tuple(Job.model_fields), {key: " (text)" for key in ("name", "cron")})


def load_schedule(path: str | Path) -> list[Job]:
    """Read and validate a schedule file; errors name the job and the key."""
    path = Path(path)
    data = read_yaml(path, "schedule", "OKTA_ALERTS_SCHEDULE", ScheduleError)
    try:
        schedule = ScheduleFile.model_validate(data)
    except ValidationError as exc:
        raise ScheduleError(explain(exc, WORDING, lambda loc: _where(path, data, loc))) from None
    names: set[str] = set()
    for job in schedule.jobs:
        if job.name in names:
            raise ScheduleError(f"{path}: job {job.name!r}: name is used by two jobs")
        names.add(job.name)
    return list(schedule.jobs)


def _where(path: Path, data: Any, loc: Loc) -> str:
    """The file, or the job of it (by name, else by position) that an error location is in."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return str(path)
    raw = data["jobs"][loc[1]]
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"{path}: job {name!r}" if isinstance(name, str) else f"{path}: job #{loc[1] + 1}"
