"""Charts render to PNG at chat size, with data and without."""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import okta_alerts
from okta_alerts.analysis import charts
from okta_alerts.analysis.windows import make_window
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import write_batches
from tests.support.factories import make_event
from tests.support.settings import make_settings

END = datetime(2026, 11, 28, 12, tzinfo=UTC)
WINDOW = make_window(END, 24, 3)
CHARTS: dict[str, Callable[..., Any]] = {
    "lockouts_chart": charts.lockouts_chart,
    "assignment_errors_chart": charts.assignment_errors_chart,
    "events_chart": charts.events_chart,
    "lockout_sources_chart": charts.lockout_sources_chart,
    "errors_by_app_chart": charts.errors_by_app_chart,
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("data")
    events = []
    for hour in range(24 * 4):
        when = END - timedelta(hours=hour, minutes=17)
        events.append(make_event("user.account.lock", when, actor=f"u{hour % 7}@example.com"))
        events.append(
            make_event(
                "application.provision.user.push",
                when,
                result="FAILURE",
                reason="Matching user not found",
                app="Cost $5 app" if hour % 2 else "Salesforce.com",  # "$" is not mathtext here
                user=f"u{hour % 5}@example.com",
            )
        )
    write_batches(make_settings(root), [Batch(None, events)])
    return okta_alerts.connect(root)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize(
    ("name", "store"),
    [(name, "filled") for name in CHARTS]
    + [("lockouts_chart", "empty"), ("errors_by_app_chart", "empty")],  # a series, a ranking
)
def test_chart_renders_a_chat_sized_png(
    name: str, store: str, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    connection = con if store == "filled" else okta_alerts.connect(tmp_path)
    figure = CHARTS[name](connection, WINDOW)
    data = figure._repr_png_()  # what Jupyter shows: charts.to_png(figure)
    assert png_size(data) == (800, 400)
    assert 5_000 < len(data) < 300_000
    titles = [axes.get_title() for axes in figure.axes]
    assert "2026-11-27 12:00 to 2026-11-28 12:00 UTC" in titles[0]
    if store == "empty":
        texts = [t.get_text() for axes in figure.axes for t in axes.texts]
        assert any(text.startswith("No ") and "in this window" in text for text in texts)


def test_series_chart_labels_units_and_draws_the_band_behind(
    con: duckdb.DuckDBPyConnection,
) -> None:
    figure = charts.lockouts_chart(con, WINDOW)
    axes = figure.axes[0]
    assert axes.get_ylabel() == "lockouts per hour"
    assert axes.get_xlabel() == "time (UTC)"
    band = [c for c in axes.collections if "normal range" in str(c.get_label())]
    bars = list(axes.patches)
    assert band and bars
    assert band[0].get_zorder() < bars[0].get_zorder()
    assert [b.get_height() for b in bars] == [1.0] * 24


def test_daily_chart_for_long_windows(con: duckdb.DuckDBPyConnection) -> None:
    window = make_window(END, 24 * 4, 0)
    figure = charts.lockouts_chart(con, window)
    assert figure.axes[0].get_ylabel() == "lockouts per day"
    assert len(figure.axes[0].patches) == 4  # 11-25 to 11-28: whole UTC days
    assert png_size(charts.to_png(figure)) == (800, 400)


def test_to_png_needs_no_pyplot() -> None:
    figure = charts.Chart(figsize=charts.SIZE)
    figure.add_subplot().plot([0, 1], [1, 0])
    assert png_size(charts.to_png(figure, dpi=50)) == (400, 200)


def test_importing_the_library_loads_neither_matplotlib_nor_papermill() -> None:
    code = (
        "import sys, okta_alerts, okta_alerts.analysis, okta_alerts.reports.runner;"
        "print(sorted(m for m in ('matplotlib', 'papermill', 'nbconvert') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
