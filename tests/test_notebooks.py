"""Each notebook run by papermill (a real kernel) against a simulated store, its recorded figures
checked against the library and the simulated scenario; and again against an empty store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest

import okta_alerts
from okta_alerts import analysis
from okta_alerts.config import Settings
from okta_alerts.reports import cells
from okta_alerts.reports import runner as reports
from okta_alerts.sim.simulate import event_batches, generate_events
from okta_alerts.store.writer import write_batches
from tests.support.settings import make_settings

pytestmark = pytest.mark.slow

END = datetime(2026, 11, 28, 12, tzinfo=UTC)
PARAMETERS = {"end": "2026-11-28T12:00Z", "baseline_days": 3}
WINDOW = analysis.make_window(END, 24, 3)
SCENARIOS = ("lockout-storm", "password-spray", "provisioning-outage")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Four days of a 200-user org at 40 events/hour with all three bursts in the last day."""
    settings = make_settings(tmp_path_factory.mktemp("simulated"))
    events = generate_events(
        7, END - timedelta(days=4), END, SCENARIOS, rate_per_hour=40, users=200
    )
    write_batches(settings, event_batches(events))
    return settings


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("empty"))


def run(settings: Settings, name: str, fmt: str = "both") -> reports.ReportResult:
    return reports.run_report(settings, name, PARAMETERS, fmt=fmt)


def outputs_text(path: Path) -> str:
    """All text the executed notebook shows (stream and text/plain outputs)."""
    notebook = nbformat.read(path, as_version=4)
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def images(path: Path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum(
        "image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", [])
    )


def assert_same_figures(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, except floats, whose last bits vary with DuckDB's parallel aggregation order."""
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert got[key] == value, key


def test_lockouts_notebook(simulated: Settings) -> None:
    result = run(simulated, "lockouts")
    con = okta_alerts.connect(simulated.data_dir)
    expected = analysis.lockout_summary(con, WINDOW, spray_minutes=10, spray_min_users=5)
    assert_same_figures(result.figures, cells._jsonable(expected.figures()))
    # the scenarios: a storm of 25-40 users plus a spray locking 5-8 users from one IP
    assert result.figures["lockouts"] >= 30
    assert result.figures["ratio"] > 3
    assert result.figures["spray_ips"] >= 1
    assert result.figures["top_ip"] in set(analysis.spray_candidates(con, WINDOW).ip)
    assert result.html is not None and result.notebook is not None
    assert images(result.notebook) == 2  # lockouts over time, and a panel per source network
    html = result.html.read_text(encoding="utf-8")
    assert "Password-spray candidates" in html and "data:image/png;base64," in html


def test_assignment_errors_notebook(simulated: Settings) -> None:
    result = run(simulated, "assignment_errors")
    con = okta_alerts.connect(simulated.data_dir)
    expected = analysis.assignment_summary(con, WINDOW, min_errors=5, min_ratio=3.0)
    assert_same_figures(result.figures, cells._jsonable(expected.figures()))
    # the scenario: Salesforce.com push/sync fails for 40-70 users within an hour
    assert result.figures["top_app"] == "Salesforce.com"
    assert "Salesforce.com" in result.figures["spiking_apps"]
    assert result.figures["errors"] >= 40 and result.figures["zscore"] > 3
    assert result.notebook is not None and images(result.notebook) == 2


def test_explore_notebook(simulated: Settings) -> None:
    result = run(simulated, "explore", fmt="ipynb")
    con = okta_alerts.connect(simulated.data_dir)
    sql = "SELECT count(published) FROM events WHERE published >= ? AND published < ?"
    (events,) = con.execute(sql, [WINDOW.start, WINDOW.end]).fetchone() or (0,)
    assert result.figures["events"] == events > 500
    assert result.html is None and result.notebook is not None
    assert "failures" in outputs_text(result.notebook)


EMPTY: dict[str, tuple[str, dict[str, Any]]] = {
    "lockouts": ("No lockouts in this window", {"lockouts": 0, "spray_ips": 0, "top_user": None}),
    "assignment_errors": (
        "No assignment errors in this window",
        {"errors": 0, "spiking_apps": [], "top_app": None},
    ),
    "explore": ("No events in this window", {"events": 0, "first": None}),
}


@pytest.mark.parametrize("name", EMPTY)
def test_notebook_runs_on_an_empty_store(empty: Settings, name: str) -> None:
    message, figures = EMPTY[name]
    result = run(empty, name, fmt="ipynb")
    assert {key: result.figures[key] for key in figures} == figures
    assert result.notebook is not None
    text = outputs_text(result.notebook)
    assert message in text
    assert "Notifications off" in text
    assert images(result.notebook) >= 1  # charts still drawn, saying there is nothing
