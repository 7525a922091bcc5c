"""Charts of the analysis results: matplotlib figures sized for chat (800x400 px) and reports.

Figures are built with matplotlib's object API (no pyplot, no global backend switch): rendering
to PNG uses the Agg canvas, so this works headless, in a scheduler or inside a kernel whose
backend is something else. In a notebook a chart shows itself (``_repr_png_``); elsewhere use
:func:`to_png`. Import matplotlib only through this module, so ``import okta_alerts`` stays light.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from okta_alerts import analysis
from okta_alerts.windows import Window

SIZE = (8.0, 4.0)  # inches; at DPI this is 800x400 px, readable as a chat attachment
DPI = 100
BAR = "#3b6ea5"
BAND = "#f2c14e"
MEAN = "#a15c00"


class Chart(Figure):
    """A matplotlib Figure that renders itself as PNG in Jupyter."""

    def _repr_png_(self) -> bytes:
        return to_png(self)


def to_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (Agg), e.g. for a chat attachment or an HTML report."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def lockouts_chart(con: duckdb.DuckDBPyConnection, window: Window) -> Chart:
    """Lockouts per hour (or day) of the window, with the baseline band behind."""
    return series_chart(analysis.lockouts_over_time(con, window), window, "lockouts")


def assignment_errors_chart(con: duckdb.DuckDBPyConnection, window: Window) -> Chart:
    """Assignment and provisioning errors per hour (or day), with the baseline band behind."""
    frame = analysis.assignment_errors_over_time(con, window)
    return series_chart(frame, window, "assignment errors")


def events_chart(con: duckdb.DuckDBPyConnection, window: Window) -> Chart:
    """All events per hour (or day), with the baseline band behind."""
    return series_chart(analysis.events_over_time(con, window), window, "events")


def lockout_sources_chart(
    con: duckdb.DuckDBPyConnection, window: Window, by: analysis.Source = "country", limit: int = 8
) -> Chart:
    """Lockouts by source ``country``, ``asn`` or ``ip``: the top ``limit`` as bars."""
    frame = analysis.lockouts_by_source(con, window, by=by, limit=limit)
    labels: dict[str, Callable[[pd.Series], str]] = {
        "country": lambda row: str(row["country"]),
        "ip": lambda row: f"{row['ip']} ({row['as_org']})",
        "asn": lambda row: f"AS{row['as_number']} {row['as_org']}",
    }
    names = [labels[by](row) for _, row in frame.iterrows()]
    title = f"Lockouts by source {by if by != 'ip' else 'IP'}"
    return ranking_chart(names, list(frame.lockouts), window, title, "lockouts", "lockouts")


def errors_by_app_chart(con: duckdb.DuckDBPyConnection, window: Window, limit: int = 8) -> Chart:
    """Assignment errors per app (top ``limit``), with the baseline's expected count marked."""
    frame = analysis.errors_by_app(con, window, limit=limit)
    chart = ranking_chart(
        list(frame.app_name),
        list(frame.errors),
        window,
        "Assignment errors by app",
        "errors in the window",
        "assignment errors",
    )
    expected = frame.baseline_expected.fillna(0).tolist()
    if expected and any(expected):
        axes = chart.axes[0]
        axes.scatter(
            expected,
            range(len(expected)),
            marker="|",
            s=300,
            color=MEAN,
            zorder=3,
            label="baseline expectation",
        )
        axes.legend(loc="lower right", fontsize=8)
    return chart


def series_chart(frame: pd.DataFrame, window: Window, noun: str) -> Chart:
    """Bars of ``frame.count`` per bucket; the baseline's 10th-90th percentile band and mean
    (``baseline_low``/``baseline_high``/``baseline_mean``) drawn behind them."""
    chart = Chart(figsize=SIZE, dpi=DPI)
    chart.subplots_adjust(left=0.08, right=0.95, top=0.92, bottom=0.2)  # fixed: fast to draw
    axes = chart.add_subplot()
    x = date2num(frame.bucket.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
    width = window.step.total_seconds() / 86400
    edges = [*x, x[-1] + width] if len(x) else []
    if len(x) and frame.baseline_mean.notna().any():
        high, low, mean = (_extend(frame[column]) for column in _BAND_COLUMNS)
        axes.fill_between(
            edges,
            low,
            high,
            step="post",
            color=BAND,
            alpha=0.45,
            zorder=1,
            linewidth=0,
            label=f"normal range ({window.baseline_days} days before)",
        )
        axes.step(
            edges,
            mean,
            where="post",
            color=MEAN,
            linestyle="--",
            linewidth=1.2,
            zorder=2,
            label="baseline mean",
        )
    axes.bar(
        x,
        frame["count"],
        width=width * 0.85,
        align="edge",
        color=BAR,
        zorder=3,
        label=f"{noun} in the window",
    )
    per = "hour" if window.bucket == "hour" else "day"
    axes.set_title(f"{noun.capitalize()} per {per}, {_span(window)}", fontsize=11)
    axes.set_ylabel(f"{noun} per {per}")
    axes.set_xlabel("time (UTC)")
    axes.set_xlim(date2num(_naive(window.start)), date2num(_naive(window.end)))
    axes.set_ylim(bottom=0, top=max(1.0, _top(frame)) * 1.15)
    if per == "hour":
        axes.xaxis.set_major_locator(AutoDateLocator(minticks=4, maxticks=9))
    else:
        axes.xaxis.set_major_locator(DayLocator(interval=max(1, round(window.hours / 24 / 8))))
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M\n%b %d" if per == "hour" else "%b %d"))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3, zorder=0)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    if not frame["count"].sum():
        _nothing(axes, f"No {noun} in this window")
    return chart


def ranking_chart(
    names: list[Any], values: list[Any], window: Window, title: str, xlabel: str, noun: str
) -> Chart:
    """Horizontal bars, largest on top."""
    chart = Chart(figsize=SIZE, dpi=DPI)
    chart.subplots_adjust(left=0.3, right=0.97, top=0.92, bottom=0.13)  # room for 40-char names
    axes = chart.add_subplot()
    axes.barh(range(len(values)), values, color=BAR, zorder=2)
    axes.set_yticks(range(len(names)), [_label(name) for name in names], fontsize=8)
    axes.invert_yaxis()
    axes.set_title(f"{title}, {_span(window)}", fontsize=11)
    axes.set_xlabel(xlabel)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x", alpha=0.3, zorder=0)
    if not values:
        axes.set_yticks([])
        _nothing(axes, f"No {noun} in this window")
    return chart


_BAND_COLUMNS = ("baseline_high", "baseline_low", "baseline_mean")


def _extend(column: pd.Series) -> list[float]:
    """Repeat the last value so a ``step="post"`` line covers the last bucket too."""
    return [*column, column.iloc[-1]]


def _span(window: Window) -> str:
    return f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC"


def _naive(when: Any) -> Any:
    return pd.Timestamp(when).tz_convert("UTC").tz_localize(None)


def _top(frame: pd.DataFrame) -> float:
    values = [frame["count"].max(), frame.baseline_high.max(), frame.baseline_mean.max()]
    return float(max((v for v in values if pd.notna(v)), default=0.0))


def _label(value: Any, width: int = 40) -> str:
    """Event text as a plain label: ``$`` would start mathtext; long names are cut."""
    text = (
        "(none)" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    )
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _nothing(axes: Any, text: str) -> None:
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontsize=12,
        color="#555555",
    )
