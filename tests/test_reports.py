"""The report runner and ``okta-alerts report``: strict parameters before any kernel, failures
that name the cell and keep the notebook, HTML that escapes event strings."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from okta_alerts.cli import main
from okta_alerts.config import Settings
from okta_alerts.errors import ReportError, ReportParameterError
from okta_alerts.okta.delivery import Batch
from okta_alerts.reports import cells
from okta_alerts.reports import runner as reports
from okta_alerts.store.writer import write_batches
from tests.support.factories import make_event

END = datetime(2026, 11, 28, 12, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to execute a notebook."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["report", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "window_hour", "48"], "unknown parameter 'window_hour' for report 'lockouts'"),
        (["-p", "window_hours", "two days"], "window_hours must be an int, not 'two days'"),
        (["-p", "send_notifications", "maybe"], "send_notifications must be a bool"),
        (["-p", "end", "last tuesday"], "use ISO-8601 such as 2026-11-28T12:00Z"),
        (["-p", "baseline_days", "-1"], "baseline_days must be a whole number >= 0"),
        (["--format", "pdf"], "Invalid value for '--format'"),
    ],
)
def test_bad_parameters_are_refused_before_a_kernel_starts(
    no_kernel: None, data_dir: Path, args: list[str], message: str
) -> None:
    started = time.monotonic()
    result = cli("lockouts", "--data-dir", str(data_dir), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert time.monotonic() - started < 10  # no kernel: papermill only reads the notebook
    assert not (data_dir / "reports").exists()


def test_unknown_parameter_message_lists_the_known_ones(no_kernel: None, data_dir: Path) -> None:
    result = cli("lockouts", "--data-dir", str(data_dir), "-p", "colour", "red")
    for name in ("data_dir", "end", "window_hours", "baseline_days", "spray_minutes"):
        assert name in result.output


def test_unknown_report_is_named(no_kernel: None, settings: Settings) -> None:
    with pytest.raises(ReportParameterError, match=r"no report named 'lockout'.*known: .*lockouts"):
        reports.run_report(settings, "lockout", {})
    with pytest.raises(ReportParameterError, match="no report named"):
        reports.run_report(settings, "../notebooks/lockouts", {})


@pytest.mark.parametrize(
    ("value", "declared", "expected"),
    [
        ("48", "int", 48),
        ("2.5", "float", 2.5),
        ("true", "bool", True),
        ("No", "bool", False),
        ("2026-11-28T12:00Z", "None", "2026-11-28T12:00Z"),
        ("none", "None", None),
        ("rules.yaml", "str", "rules.yaml"),
        (48, "int", 48),  # values from Python are passed as they are
    ],
)
def test_command_line_values_take_the_declared_type(
    value: Any, declared: str, expected: Any
) -> None:
    assert reports._convert("p", value, declared) == expected


def test_list_shows_every_notebook_and_its_parameters(no_kernel: None) -> None:
    result = cli("--list")
    assert result.exit_code == 0, result.output
    assert "lockouts: Okta lockouts" in result.output
    assert "-p window_hours" in result.output and "int" in result.output
    assert "length of the window in hours" in result.output
    names = [info.name for info in reports.list_reports()]
    assert names == ["assignment_errors", "explore", "lockouts"]


def test_a_name_or_list_is_required(no_kernel: None) -> None:
    result = cli()
    assert result.exit_code == 2
    assert "give a report NAME" in result.output


def test_alerting_cell_does_nothing_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert cells.alerting_cell(False, None, None, None) is None
    assert "Notifications off" in capsys.readouterr().out


def test_record_figures_prints_json_and_read_figures_finds_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import numpy as np

    figures = {"n": np.int64(3), "ratio": float("nan"), "when": END, "apps": ("a", "b")}
    cells.record_figures(figures)
    line = capsys.readouterr().out.splitlines()[0]
    clean = {"apps": ["a", "b"], "n": 3, "ratio": None, "when": "2026-11-28T12:00:00+00:00"}
    assert json.loads(line) == clean
    notebook = new_notebook(cells=[new_code_cell("x")])
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("display_data", data={"application/json": clean})
    ]
    assert reports.read_figures(notebook) == clean


def broken_notebook(folder: Path) -> Path:
    folder.mkdir()
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Broken\nA report that fails."),
            new_code_cell("data_dir = None  # data directory", metadata={"tags": ["parameters"]}),
            new_code_cell("answer = 42"),
            new_code_cell("ratio = answer / 0\nprint(ratio)"),
            new_code_cell("print('never')"),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "broken.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_a_failing_notebook_exits_non_zero_names_the_cell_and_is_kept(
    tmp_path: Path, data_dir: Path
) -> None:
    broken_notebook(tmp_path / "notebooks")
    out = tmp_path / "out"
    result = cli(
        "broken",
        "--data-dir",
        str(data_dir),
        "--notebooks-dir",
        str(tmp_path / "notebooks"),
        "--output-dir",
        str(out),
    )
    assert result.exit_code == 1, result.output
    # the 4th cell of broken.ipynb; the 4th executed, counting papermill's injected parameters
    assert "failed in cell 4 of broken.ipynb (In [4]: 'ratio = answer / 0')" in result.output
    assert "ZeroDivisionError: division by zero" in result.output
    assert "Traceback" not in result.output
    kept = list(out.glob("*.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in result.output
    executed = nbformat.read(kept[0], as_version=4)
    failed = [c for c in executed.cells if any(o.get("ename") for o in c.get("outputs", []))]
    assert [c.source for c in failed] == ["ratio = answer / 0\nprint(ratio)"]
    assert executed.cells[-1].get("execution_count") is None  # nothing ran after it
    assert not list(out.glob("*.html"))


@pytest.mark.slow
def test_report_html_hides_inputs_embeds_charts_and_escapes_event_strings(
    settings: Settings,
) -> None:
    start = END - timedelta(hours=3)
    events = [
        make_event(
            "user.account.lock",
            start + timedelta(minutes=i),
            actor=f"user{i}@example.com",
            ip="192.0.2.66",
            result="FAILURE",
            user_agent=SCRIPT,
        )
        for i in range(6)
    ]
    write_batches(settings, [Batch(None, events)])
    result = reports.run_report(
        settings, "lockouts", {"end": "2026-11-28T12:00Z", "baseline_days": "3"}
    )
    assert result.html is not None and result.notebook is not None
    assert result.html.parent == settings.reports_dir / "lockouts"
    assert result.notebook.with_suffix(".html") == result.html
    assert result.parameters["baseline_days"] == 3  # converted from the command line's text
    assert result.figures["lockouts"] == 6 and result.figures["spray_ips"] == 1
    html = result.html.read_text(encoding="utf-8")
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "data:image/png;base64," in html  # the chart, embedded
    assert "analysis.spray_candidates" not in html  # inputs hidden
    assert "record_figures" not in html and '"spray_ips"' not in html  # the figures cell too
    assert "Password-spray candidates" in html


def test_failed_cell_without_papermill(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The error message when papermill reports a failed cell (without running a kernel)."""

    def fail(input_path: str, output_path: str, **kwargs: Any) -> None:
        Path(output_path).write_text("{}")
        raise papermill.PapermillExecutionError(
            cell_index=7,
            exec_count=5,
            source="\n  analysis.top_locked_users(con, window)\nmore",
            ename="IOException",
            evalue="IO Error: disk on fire",
            traceback=[],
        )

    monkeypatch.setattr(papermill, "execute_notebook", fail)
    with pytest.raises(ReportError) as info:
        reports.run_report(settings, "lockouts", {})
    message = str(info.value)
    assert (
        "failed in cell 7 of lockouts.ipynb (In [5]: 'analysis.top_locked_users(con, window)')"
        in message
    )
    assert "IOException: IO Error: disk on fire" in message
    assert "kept at" in message and str(settings.reports_dir / "lockouts") in message
