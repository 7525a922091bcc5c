"""The scheduler: schedule files, --once, run history, catch-up, retention, failure notices, and
notebooks run by papermill on a real kernel whose alerting cell sends the digest."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import nbformat
import pytest
from click.testing import CliRunner

from okta_alerts.alerts.state import open_state
from okta_alerts.cli import main
from okta_alerts.config import SHIPPED_SCHEDULE, Settings
from okta_alerts.errors import ScheduleError
from okta_alerts.reports.schedule import Job, load_schedule
from okta_alerts.reports.scheduler import (
    Runner,
    due_jobs,
    prune_outputs,
    report_runner,
    run_job,
    run_schedule,
)
from tests.support.alerting import NOW, RULES, SPRAY_IP, lockout_storm
from tests.support.catcher import Catcher
from tests.support.settings import make_settings

HOURLY = "jobs:\n  - {name: a, notebook: nb, cron: '5 * * * *'}\n  - {name: b, notebook: nb, cron: '0 8 * * *'}\n"  # noqa: E501


def schedule_settings(data_dir: Path, text: str, **extra: Any) -> Settings:
    path = data_dir.parent / "schedule.yaml"
    path.write_text(text)
    return make_settings(data_dir, schedule=path, **extra)


def recording_runner(calls: list[tuple[str, dict[str, Any]]]) -> Runner:
    """A runner that writes a one-line report: for tests of the loop, not of notebooks."""

    def run(settings: Settings, job: Job, parameters: dict[str, Any], output: Path) -> str:
        calls.append((job.name, parameters))
        output.mkdir(parents=True, exist_ok=True)
        path = output / f"{len(calls)}.html"
        path.write_text("<p>report</p>")
        return str(path)

    return run


def write_notebook(folder: Path, name: str, body: str) -> None:
    """A tiny notebook with the common parameters and one body cell."""
    folder.mkdir(parents=True, exist_ok=True)
    parameters = nbformat.v4.new_code_cell(
        "data_dir = None\nend = None\nsend_notifications = False\nrules = None"
    )
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(body)])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(notebook, folder / f"{name}.ipynb")


# -- the schedule file ----------------------------------------------------------------------


def test_shipped_schedule() -> None:
    jobs = {job.name: job for job in load_schedule(SHIPPED_SCHEDULE)}
    check = jobs.pop("alerts-every-15-minutes")
    assert check.alerts and check.notebook is None and check.cron == "*/15 * * * *"
    assert {j.notebook for j in jobs.values()} == {"lockouts", "assignment_errors"}
    assert jobs["lockouts-hourly"].notify and jobs["assignment-errors-hourly"].notify
    daily = [j for j in jobs.values() if j.cron == "0 8 * * *"]
    assert {j.notebook for j in daily} == {"lockouts", "assignment_errors"}
    assert all(str(j.timezone) == "UTC" for j in jobs.values())


J = "name: a, notebook: nb, cron: '5 * * * *'"
BAD = [
    (f"jobs: [{{{J}, colour: red}}]", "job 'a': unknown key 'colour'"),
    ("jobs: [{name: a, notebook: nb}]", "job 'a': key 'cron' is required"),
    ("jobs: [{name: a, notebook: nb, cron: 'every hour'}]", "job 'a': key 'cron': 'every hour' is"),
    (f"jobs: [{{{J}, timezone: Mars/Base}}]", "job 'a': key 'timezone': 'Mars/Base' is not"),
    (f"jobs: [{{{J}, keep: forever}}]", "job 'a': key 'keep': 'forever' is not a duration"),
    (f"jobs: [{{{J}, notify: yes please}}]", "job 'a': key 'notify' must be true or false"),
    (f"jobs: [{{{J}, parameters: {{send_notifications: true}}}}]", "send_notifications is set by"),
    (f"jobs: [{{{J}}}, {{{J}}}]", "job 'a': name is used by two jobs"),
    ("jobs: [{name: a, cron: '5 * * * *'}]", "job 'a': give either `notebook` (a report) or"),
    (f"jobs: [{{{J}, alerts: true}}]", "job 'a': give either `notebook` (a report) or `alerts"),
    ("jobs: [{name: a, alerts: true, notify: true, cron: '5 * * * *'}]", "takes no `parameters`"),
    ("jobs: [{name: a, alerts: yes please, cron: '5 * * * *'}]", "key 'alerts' must be true or"),
    ("jobs: [{notebook: nb, cron: '5 * * * *'}]", "job #1: key 'name' is required"),
    ("cron: '5 * * * *'", "expected a mapping with `timezone` and `jobs`"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_schedule_is_refused_naming_job_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(text)
    with pytest.raises(ScheduleError, match="^" + str(path)) as caught:
        load_schedule(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("jobs: x", "key 'jobs' must be a list of jobs"),
     ("jobs: [text]", "job #1 must be a mapping"),
     ("timezone: Mars/Base\njobs: []", "key 'timezone': 'Mars/Base' is not a time zone"),
     (f"jobs: [{{{J}, colour: red, apple: 1}}]", "job 'a': unknown key 'colour'; known: name,"),
     (f"jobs: [{{{J}, parameters: [1]}}]", "job 'a': key 'parameters' must be a mapping of"),
     ("jobs: [{name: a, notebook: 'x/y', cron: '5 * * * *'}]", "job 'a': key 'notebook': 'x/y'"),
     ("jobs: [{name: 5, notebook: nb, cron: '5 * * * *'}]", "job #1: key 'name' is required"),
     (f"jobs: [{{{J}}}, {{name: b, notebook: nb}}]", "job 'b': key 'cron' is required (text)")],
)  # fmt: skip
def test_schedule_file_problems_name_the_place(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(text)
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    assert str(caught.value).startswith(f"{path}: {message}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(f"jobs: [{{{J}}}]", {"timezone": "UTC", "parameters": {}, "notify": False,
                            "keep": timedelta(days=30), "enabled": True}),
     (f"timezone: Europe/Berlin\njobs: [{{{J}, parameters: null}}]",
      {"timezone": "Europe/Berlin", "parameters": {}}),
     (f"timezone: Europe/Berlin\njobs: [{{{J}, timezone: Asia/Tokyo, keep: 2d, notify: true}}]",
      {"timezone": "Asia/Tokyo", "keep": timedelta(days=2), "notify": True})],
)  # fmt: skip
def test_job_defaults_and_the_file_time_zone(text: str, expected: dict[str, Any]) -> None:
    (job,) = load_schedule_text(text)
    values = {k: str(v) if k == "timezone" else v for k, v in job.model_dump().items()}
    assert {k: values[k] for k in expected} == expected


def test_an_empty_schedule_has_no_jobs(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text("# nothing yet\n")
    assert load_schedule(path) == []


# -- when jobs run ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "due"),
    [(None, None),  # never ran: wait for the next slot
     (datetime(2026, 11, 30, 10, 5, tzinfo=UTC), datetime(2026, 11, 30, 15, 5, tzinfo=UTC)),
     (datetime(2026, 11, 30, 15, 5, tzinfo=UTC), None)],
)  # fmt: skip
def test_missed_runs_after_downtime_run_once(last: datetime | None, due: datetime | None) -> None:
    (job,) = load_schedule_text("jobs: [{name: a, notebook: nb, cron: '5 * * * *'}]")
    now = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # five slots after 10:05 were missed
    assert due_jobs([job], {"a": last} if last else {}, now) == {"a": due}


def load_schedule_text(text: str) -> list[Job]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(text)
        return load_schedule(path)


def test_cron_is_read_in_the_job_time_zone() -> None:
    (job,) = load_schedule_text(
        "timezone: Europe/Berlin\njobs: [{name: a, notebook: n, cron: '0 8 * * *'}]"
    )
    assert job.next_slot(datetime(2026, 11, 30, 6, 0, tzinfo=UTC)) == datetime(
        2026, 11, 30, 7, 0, tzinfo=UTC
    )


def test_loop_catches_up_once_then_waits_for_the_next_slot(data_dir: Path) -> None:
    settings = schedule_settings(data_dir, HOURLY)
    now = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
    with open_state(settings) as state:  # job a last ran at 10:05, b at today's 08:00
        state.finish_run(
            state.start_run("a", "nb", now.replace(hour=10, minute=5), now), now, "ok", None, None
        )
        state.finish_run(
            state.start_run("b", "nb", now.replace(hour=8, minute=0), now), now, "ok", None, None
        )
    calls: list[tuple[str, dict[str, Any]]] = []
    stop = threading.Event()
    record = recording_runner(calls)

    def runner(*args: Any) -> str:
        stop.set()  # the loop finishes this pass, then stops
        return record(*args)

    outcomes = run_schedule(settings, stop_event=stop, runner=runner, clock=lambda: now)
    assert [c[0] for c in calls] == ["a"] and [o.status for o in outcomes] == ["ok"]
    with open_state(settings) as state:
        assert state.last_slots()["a"] == now.replace(minute=5)
        assert [r.status for r in state.runs("a")] == ["ok", "ok"]


def test_once_runs_each_job_once_and_records_it(data_dir: Path) -> None:
    settings = schedule_settings(data_dir, HOURLY)
    calls: list[tuple[str, dict[str, Any]]] = []
    outcomes = run_schedule(settings, once=True, runner=recording_runner(calls))
    assert sorted(c[0] for c in calls) == ["a", "b"] and {o.status for o in outcomes} == {"ok"}
    assert calls[0][1] == {"send_notifications": False, "data_dir": str(data_dir.resolve())}
    with open_state(settings) as state:
        runs = state.runs()
    assert sorted(r.job for r in runs) == ["a", "b"]
    assert all(r.output and Path(r.output).is_file() and r.finished_at for r in runs)


def test_alert_check_job_notifies_once_and_records_each_run(
    data_dir: Path, tmp_path: Path, catcher: Catcher, fill_store: Callable[[Any], int]
) -> None:
    """An `alerts: true` job runs the rules at the run's time (no kernel, no report): the storm
    fires both rules; at the next slot the 15-minute surge has ended and is resolved with its
    final count, while the spray (1 h window) still fires and is not announced again."""
    fill_store(lockout_storm(NOW))
    (tmp_path / "rules.yaml").write_text(RULES)
    text = "jobs: [{name: check, alerts: true, cron: '*/15 * * * *'}]"
    settings = schedule_settings(
        data_dir, text, rules=tmp_path / "rules.yaml", apprise_urls=catcher.url
    )
    (job,) = load_schedule(settings.schedule)
    calls: list[tuple[str, dict[str, Any]]] = []
    first = run_job(settings, job, NOW, recording_runner(calls), clock=lambda: NOW)
    (body,) = catcher.wait_for(1)
    assert body["title"] == "Okta alerts: 2 firing" and SPRAY_IP in body["message"]
    later = NOW + timedelta(minutes=15)
    second = run_job(settings, job, later, recording_runner(calls), clock=lambda: later)
    assert calls == [] and (first.status, second.status) == ("ok", "ok")
    (_, resolved) = catcher.wait_for(2)
    assert first.output is None and resolved["title"] == "Okta alerts: 0 firing, 1 resolved"
    assert "[RESOLVED] Okta lockout surge" in resolved["message"]
    assert "12 lockouts in all" in resolved["message"] and "spray" not in resolved["message"]
    with open_state(settings) as state:
        runs = state.runs("check")
        assert [r.slot for r in runs] == [later, NOW] and {r.status for r in runs} == {"ok"}
        assert [a.rule_id for a in state.open_alerts()] == ["password-spray"]


def test_alert_check_job_that_cannot_deliver_fails_and_keeps_the_digest(
    data_dir: Path, tmp_path: Path, fill_store: Callable[[Any], int]
) -> None:
    fill_store(lockout_storm(NOW))
    (tmp_path / "rules.yaml").write_text(RULES)
    text = "jobs: [{name: check, alerts: true, cron: '*/15 * * * *'}]"
    settings = schedule_settings(
        data_dir, text, rules=tmp_path / "rules.yaml", apprise_urls="json://127.0.0.1:9/closed"
    )
    (job,) = load_schedule(settings.schedule)
    outcome = run_job(settings, job, NOW, recording_runner([]), clock=lambda: NOW)
    assert outcome.status == "failed" and "stays pending" in (outcome.error or "")
    with open_state(settings) as state:
        (run,) = state.runs("check")
        assert run.status == "failed" and state.counts()["pending"] == 2  # digest and notice


def test_retention_deletes_old_outputs(data_dir: Path) -> None:
    settings = schedule_settings(
        data_dir, "jobs: [{name: a, notebook: nb, cron: '5 * * * *', keep: 2d}]"
    )
    folder = settings.reports_dir / "a"
    folder.mkdir(parents=True)
    ages = {"old.html": 3, "old.ipynb": 3, "recent.html": 1}
    for name, days in ages.items():
        (folder / name).write_text("x")
        stamp = (datetime.now(UTC) - timedelta(days=days)).timestamp()
        os.utime(folder / name, (stamp, stamp))
    run_schedule(settings, once=True, runner=recording_runner([]))
    assert sorted(p.name for p in folder.iterdir()) == ["1.html", "recent.html"]
    assert prune_outputs(data_dir / "missing", timedelta(days=1), datetime.now(UTC)) == []


# -- real notebooks under papermill --------------------------------------------------------

ALERT_CELL = """
from okta_alerts.alerts.check import check_from_notebook
if send_notifications:
    print(check_from_notebook(data_dir=data_dir, rules=rules, end=end))
"""


@pytest.mark.slow
def test_scheduled_notebook_with_notifications_fires_the_digest(
    data_dir: Path, tmp_path: Path, catcher: Catcher, fill_store: Callable[[Any], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The kernel gets the scheduler's settings (here: the apprise URL) from the settings object,
    not from the scheduler's own environment, which is left alone."""
    fill_store(lockout_storm(NOW))
    (tmp_path / "rules.yaml").write_text(RULES)
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "lockouts", ALERT_CELL)
    text = f"jobs: [{{name: hourly, notebook: lockouts, cron: '5 * * * *', notify: true, parameters: {{end: '{NOW.isoformat()}'}}}}]"  # noqa: E501
    settings = schedule_settings(
        data_dir, text, rules=tmp_path / "rules.yaml", apprise_urls=catcher.url
    )
    monkeypatch.setenv("OKTA_ALERTS_APPRISE_URLS", "json://127.0.0.1:9/never")  # not inherited
    before = dict(os.environ)
    (outcome,) = run_schedule(settings, once=True, runner=report_runner(notebooks))
    assert dict(os.environ) == before
    assert outcome.status == "ok", outcome.error
    (body,) = catcher.wait_for(1)
    assert body["title"] == "Okta alerts: 2 firing" and SPRAY_IP in body["message"]
    assert outcome.output and outcome.output.endswith(".html")
    executed = nbformat.read(Path(outcome.output).with_suffix(".ipynb"), as_version=4)
    assert "2 firing" in str(executed.cells[-1].outputs)


@pytest.mark.slow
def test_failing_notebook_sends_a_failure_notice(
    data_dir: Path, tmp_path: Path, catcher: Catcher
) -> None:
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "broken", "raise RuntimeError('the warehouse is on fire')")
    text = "jobs: [{name: nightly, notebook: broken, cron: '0 3 * * *'}]"
    settings = schedule_settings(data_dir, text, apprise_urls=catcher.url)
    (outcome,) = run_schedule(settings, once=True, runner=report_runner(notebooks))
    assert outcome.status == "failed"
    (body,) = catcher.wait_for(1)
    assert body["title"] == "okta-alerts: scheduled job nightly failed"
    assert body["type"] == "failure" and "the warehouse is on fire" in body["message"]
    with open_state(settings) as state:
        (run,) = state.runs("nightly")
    assert run.status == "failed" and "RuntimeError: the warehouse is on fire" in (run.error or "")


def test_schedule_once_command_reports_failures(data_dir: Path) -> None:
    schedule = data_dir.parent / "schedule.yaml"
    schedule.write_text("jobs: [{name: ghost, notebook: no_such_notebook, cron: '5 * * * *'}]")
    env = {"OKTA_ALERTS_CONFIG": None, "OKTA_ALERTS_DATA_DIR": str(data_dir),
           "OKTA_ALERTS_SCHEDULE": str(schedule), "OKTA_ALERTS_APPRISE_URLS": None}  # fmt: skip
    with mock.patch.dict(os.environ):  # the command exports its settings for notebook kernels
        result = CliRunner().invoke(main, ["schedule", "--once"], env=env)
    assert result.exit_code == 1 and "FAILED ghost" in result.output
    assert "1 of 1 jobs failed: ghost" in result.output
