"""Reads that cost what the window holds: the same 24 h analysis over 30 and 300 days of history.

Two stores at the same daily rate (``DAILY_EVENTS``) are built through the real writer
(:mod:`bench.storebuild`), one with 30 days of history and one with 300. Every query of
:data:`okta_alerts.analysis.WINDOW_QUERIES` runs over a 24 h window (14-day baseline) ending where
each store ends, alternating between the stores, warm; the report gives each query's medians and
the ratio 300 days / 30 days, which should stay near 1 (target: at most ``TARGET_RATIO``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import okta_alerts
from bench.results import median
from bench.storebuild import build_store
from okta_alerts import analysis
from okta_alerts.analysis.windows import make_window
from okta_alerts.store.manifest import read_manifest

DAILY_EVENTS = 5_000
HISTORIES = (30, 300)
TARGET_RATIO = 1.2
WINDOW_HOURS = 24
BASELINE_DAYS = 14


def run_windows(runs: int = 7, seed: int = 7) -> dict[str, Any]:
    """Build (or reuse) both stores and time every window query on each, side by side."""
    stores = {days: build_store(DAILY_EVENTS * days, seed, days=days) for days in HISTORIES}
    connections = {days: okta_alerts.connect(built.data_dir) for days, built in stores.items()}
    windows = {
        days: make_window(built.end, WINDOW_HOURS, BASELINE_DAYS) for days, built in stores.items()
    }
    queries: dict[str, Any] = {}
    try:
        for name in analysis.WINDOW_QUERIES:
            function = getattr(analysis, name)
            times: dict[int, list[float]] = {days: [] for days in HISTORIES}
            for days in HISTORIES:
                function(connections[days], windows[days])  # warm-up
            for _ in range(runs):
                for days in HISTORIES:
                    started = time.perf_counter()
                    function(connections[days], windows[days])
                    times[days].append(time.perf_counter() - started)
            short, long = (median(times[days]) for days in HISTORIES)
            queries[name] = {
                "median_30d_s": round(short, 4),
                "median_300d_s": round(long, 4),
                "ratio_300d_to_30d": round(long / short, 2) if short else None,
            }
    finally:
        for con in connections.values():
            con.close()
    worst = max(q["ratio_300d_to_30d"] or 0 for q in queries.values())
    return {
        "daily_events": DAILY_EVENTS,
        "stores": {
            f"{days}d": {"events": built.events, "parts": _parts(built.data_dir)}
            for days, built in stores.items()
        },
        "queries": queries,
        "worst_ratio": worst,
        "target_ratio": TARGET_RATIO,
        "meets_target": worst <= TARGET_RATIO,
    }


def _parts(data_dir: Path) -> int:
    return len(read_manifest(data_dir / "events").parts)


def windows_summary(body: dict[str, Any]) -> str:
    lines = [
        f"windows: 24 h analysis queries over {body['daily_events']:,} events a day, "
        "30 vs 300 days of history (warm medians)"
    ]
    for name, q in body["queries"].items():
        lines.append(
            f"  {name:<28} 30d {q['median_30d_s']:.4f} s  300d {q['median_300d_s']:.4f} s  "
            f"ratio {q['ratio_300d_to_30d']}"
        )
    verdict = "ok" if body["meets_target"] else "MISSED"
    target = body["target_ratio"]
    lines.append(f"  worst ratio {body['worst_ratio']} (target <= {target}) {verdict}")
    return "\n".join(lines)
