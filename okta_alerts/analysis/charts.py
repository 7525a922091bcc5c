"""Charts of the analysis results: matplotlib figures sized for chat (800x400 px) and reports.

Figures are built with matplotlib's object API (no pyplot, no global backend switch): rendering
to PNG uses the Agg canvas, so this works headless, in a scheduler or inside a kernel whose
backend is something else. In a notebook a chart shows itself (``_repr_png_``); elsewhere use
:func:`to_png`. Import matplotlib only through this module, so ``import okta_alerts`` stays light.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import Locator, MaxNLocator

from okta_alerts import analysis
from okta_alerts.analysis.lockouts import Source
from okta_alerts.analysis.windows import Window

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
    con: duckdb.DuckDBPyConnection, window: Window, by: Source = "country", limit: int = 8
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


def networks_chart(con: duckdb.DuckDBPyConnection, window: Window, limit: int = 4) -> Chart:
    """One panel per top source network (:func:`~okta_alerts.analysis.networks_over_time`):
    its failed sign-ins and lockouts per hour (or day), on one time axis."""
    frame = analysis.networks_over_time(con, window, limit=limit)
    networks = list(dict.fromkeys(zip(frame.as_number, frame.as_org, frame.accounts, strict=True)))
    rows = max(1, len(networks))
    chart = Chart(figsize=(SIZE[0], 1.0 + 1.7 * rows), dpi=DPI)  # a panel per network
    height = 1.0 + 1.7 * rows
    chart.subplots_adjust(left=0.08, right=0.97, top=1 - 0.8 / height, bottom=0.6 / height,
                          hspace=0.6)  # fmt: skip
    width = window.step.total_seconds() / 86400
    panels = chart.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for axes, (asn, org, accounts) in zip(panels, networks, strict=False):
        part = frame[frame.as_number == asn]
        x = _day_numbers(part.bucket)
        axes.bar(x, part.failed_sign_ins, width=width * 0.85, align="edge", color=BAND,
                 label="failed sign-ins", zorder=2)  # fmt: skip
        axes.bar(x, part.lockouts, width=width * 0.85, align="edge", color=BAR, label="lockouts",
                 zorder=3)  # fmt: skip
        axes.set_title(_label(f"AS{asn} {org}: {accounts} accounts", 70), fontsize=10, loc="left")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", alpha=0.3, zorder=0)
    panels[0].legend(loc="upper right", fontsize=8, frameon=False)
    last = panels[-1]
    last.set_xlim(_day_number(window.start), _day_number(window.end))
    last.set_xlabel("time (UTC)")
    _time_ticks(last, window)
    if not networks:
        _nothing(last, "No failed sign-ins or lockouts in this window")
    chart.suptitle(f"Failed sign-ins and lockouts by source network, {_span(window)}", fontsize=11)
    return chart


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
    x = _day_numbers(frame.bucket)
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
    axes.set_xlim(_day_number(window.start), _day_number(window.end))
    axes.set_ylim(bottom=0, top=max(1.0, _top(frame)) * 1.15)
    _time_ticks(axes, window)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3, zorder=0)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    if not frame["count"].sum():
        _nothing(axes, f"No {noun} in this window")
    return chart


def ranking_chart(
    names: Sequence[object],
    values: Sequence[float],
    window: Window,
    title: str,
    xlabel: str,
    noun: str,
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


# matplotlib.dates has no type annotations (the rest of matplotlib has them): every call of it
# is in the three functions below, each marked ``type: ignore[no-untyped-call]``.


def _day_numbers(times: pd.Series) -> npt.NDArray[np.float64]:
    """matplotlib's date numbers (days since its epoch) of the UTC ``times``."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return np.asarray(date2num(naive), dtype=np.float64)  # type: ignore[no-untyped-call]


def _day_number(when: datetime) -> float:
    """matplotlib's date number of ``when``."""
    naive = pd.Timestamp(when).tz_convert("UTC").tz_localize(None)
    return float(date2num(naive))  # type: ignore[no-untyped-call]


def _time_ticks(axes: Axes, window: Window) -> None:
    """Ticks of the window's buckets: a few hours apart, or about eight days."""
    locator: Locator
    if window.bucket == "hour":
        locator = AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
        labels = "%H:%M\n%b %d"
    else:
        every = max(1, round(window.hours / 24 / 8))
        locator = DayLocator(interval=every)  # type: ignore[no-untyped-call]
        labels = "%b %d"
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(DateFormatter(labels))  # type: ignore[no-untyped-call]


def _top(frame: pd.DataFrame) -> float:
    values = [frame["count"].max(), frame.baseline_high.max(), frame.baseline_mean.max()]
    return float(max((v for v in values if pd.notna(v)), default=0.0))


def _label(value: object, width: int = 40) -> str:
    """Event text as a plain label: ``$`` would start mathtext; long names are cut."""
    text = (
        "(none)" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    )
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _nothing(axes: Axes, text: str) -> None:
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
