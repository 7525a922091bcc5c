"""Analysis queries and notebook reports over a large store (the analytics issue's benchmark).

Every function named in :data:`okta_alerts.analysis.WINDOW_QUERIES` runs on
``okta_alerts.connect()`` over a 24 h window (14-day baseline) ending where the store ends: once to
warm up, then the median of ``runs``. Each report notebook runs through
:func:`okta_alerts.reports.run_report` (format ``ipynb``, kernel start included) against the floor:
a bare notebook that only starts the same kernel and imports pandas, run by papermill with the
same arguments. Floor and reports alternate, ``NOTEBOOK_RUNS`` times each, after one untimed floor
run; the report gives the medians and the ratio report/floor.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pandas as pd

import okta_alerts
from bench.results import median, ratio
from bench.storebuild import BuiltStore, bench_settings, build_store
from okta_alerts import analysis
from okta_alerts.analysis.windows import Window, make_window
from okta_alerts.reports.runner import (
    DEFAULT_KERNEL,
    KERNEL_ARGUMENTS,
    NOTEBOOKS_DIR,
    run_report,
)

QUERY_TARGET_SECONDS = 0.5


def notebook_target_ratio(events: int) -> float:
    """A report may take 3x the bare-kernel floor at 1M events and 5x at 10M."""
    return 3.0 if events <= 1_000_000 else 5.0


NOTEBOOKS = ("lockouts", "assignment_errors")
NOTEBOOK_RUNS = 3
WINDOW_HOURS = 24
BASELINE_DAYS = 14


def run_analysis(scales: list[int], runs: int = 5, seed: int = 7) -> dict[str, Any]:
    return {"scales": [run_scale(scale, runs, seed) for scale in scales]}


def run_scale(scale: int, runs: int, seed: int) -> dict[str, Any]:
    built = build_store(scale, seed)
    window = make_window(built.end, WINDOW_HOURS, BASELINE_DAYS)
    con = okta_alerts.connect(built.data_dir)
    try:
        queries = {
            name: time_call(getattr(analysis, name), con, window, runs)
            for name in analysis.WINDOW_QUERIES
        }
    finally:
        con.close()
    return {
        "events": built.events,
        "window": [window.start.isoformat(), window.end.isoformat()],
        "baseline_days": BASELINE_DAYS,
        "build_cached": bool(built.info.get("cached")),
        "queries": queries,
        "notebooks": time_notebooks(built, NOTEBOOK_RUNS),
    }


def time_call(
    function: Callable[..., Any], con: duckdb.DuckDBPyConnection, window: Window, runs: int
) -> dict[str, Any]:
    """Median wall seconds of ``runs`` warm calls, and the size of the result."""
    result = function(con, window)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function(con, window)
        times.append(time.perf_counter() - started)
    seconds = median(times)
    return {
        "median_s": round(seconds, 4),
        "max_s": round(max(times), 4),
        "rows": len(result) if isinstance(result, pd.DataFrame) else None,
        "meets_target": seconds <= QUERY_TARGET_SECONDS,
    }


def time_notebooks(built: BuiltStore, runs: int) -> dict[str, Any]:
    settings = bench_settings(built.data_dir)
    parameters = {"end": built.end.isoformat(), "data_dir": str(built.data_dir)}
    times: dict[str, list[float]] = {"floor": [], **{name: [] for name in NOTEBOOKS}}
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as temp:
        folder = Path(temp)
        floor = bare_notebook(folder / "floor.ipynb")
        run_floor(floor, folder)  # untimed: the first kernel start reads cold files
        for _ in range(runs):
            started = time.perf_counter()
            run_floor(floor, folder)
            times["floor"].append(time.perf_counter() - started)
            for name in NOTEBOOKS:
                started = time.perf_counter()
                result = run_report(settings, name, parameters, folder / name, fmt="ipynb")
                times[name].append(time.perf_counter() - started)
                figures[name] = result.figures
    floor_s = median(times["floor"])
    out: dict[str, Any] = {"floor": {"median_s": round(floor_s, 2), "runs_s": _r(times["floor"])}}
    for name in NOTEBOOKS:
        seconds = median(times[name])
        out[name] = {
            "median_s": round(seconds, 2),
            "runs_s": _r(times[name]),
            "ratio_to_floor": ratio(seconds, floor_s),
            "target_ratio": notebook_target_ratio(built.events),
            "meets_target": seconds <= notebook_target_ratio(built.events) * floor_s,
            "figures": figures[name],
        }
    return out


def bare_notebook(path: Path) -> Path:
    """A notebook with one cell, ``import pandas``, and the report notebooks' kernelspec."""
    metadata = nbformat.read(NOTEBOOKS_DIR / f"{NOTEBOOKS[0]}.ipynb", as_version=4).metadata
    notebook = nbformat.v4.new_notebook(metadata=metadata)
    notebook.cells.append(nbformat.v4.new_code_cell("import pandas"))
    nbformat.write(notebook, path)
    return path


def run_floor(path: Path, folder: Path) -> None:
    """Execute ``path`` the way :func:`run_report` executes a report."""
    import papermill

    metadata = nbformat.read(path, as_version=4).metadata
    papermill.execute_notebook(
        str(path),
        str(folder / "floor-out.ipynb"),
        kernel_name=metadata.get("kernelspec", {}).get("name") or DEFAULT_KERNEL,
        language=metadata.get("language_info", {}).get("name") or "python",
        cwd=str(NOTEBOOKS_DIR),
        progress_bar=False,
        log_output=False,
        start_timeout=120,
        extra_arguments=KERNEL_ARGUMENTS,
    )
    nbformat.read(folder / "floor-out.ipynb", as_version=4)  # as run_report reads its output


def analysis_summary(body: dict[str, Any]) -> str:
    lines = []
    for scale in body["scales"]:
        queries = scale["queries"]
        slow = [name for name, q in queries.items() if not q["meets_target"]]
        lines.append(
            f"analysis: {scale['events']:,} events; window {scale['window'][0]} to "
            f"{scale['window'][1]} (baseline {scale['baseline_days']} d); warm medians:"
        )
        cells = [f"{name:<28}{q['median_s']:>7.3f} s" for name, q in queries.items()]
        lines += ["  " + "    ".join(cells[i : i + 2]) for i in range(0, len(cells), 2)]
        lines.append(
            f"  queries: {'all <= ' if not slow else 'over '}{QUERY_TARGET_SECONDS} s"
            f"{': ' + ', '.join(slow) if slow else ''}"
        )
        notebooks = scale["notebooks"]
        floor = notebooks["floor"]["median_s"]
        lines.append(f"  notebook floor (kernel start + import pandas) {floor:.2f} s")
        for name in NOTEBOOKS:
            n = notebooks[name]
            mark = "ok" if n["meets_target"] else f"over {n['target_ratio']:g}x"
            lines.append(
                f"  report {name:<20}{n['median_s']:>6.2f} s = {n['ratio_to_floor']}x floor  {mark}"
            )
    return "\n".join(lines)


def _r(values: list[float]) -> list[float]:
    return [round(v, 2) for v in values]
