"""``alerts check --dry-run`` over the shipped rules on a large store (the alerting benchmark).

The check is :func:`okta_alerts.alerts.check.check_alerts` in-process, at the store's end: rules
loaded and validated, a connection opened, every rule evaluated, the digest rendered. The floor
runs the same rules' queries alone (:func:`okta_alerts.alerts.queries.query_rule` at the same
time: a spray rule's second query for the sources that reach its threshold, an absence rule's
baseline when its shortest window is silent), one after the other on one connection opened
beforehand. Both run once to warm up, then the median of ``runs``. The check is also timed at
the moment of the store's lockout storm (the rules that fire then do their extra work: spray
familiarity, lifetime totals of the second check), reported as ``storm``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import okta_alerts
from bench.results import median, ratio
from bench.storebuild import bench_settings, build_store
from okta_alerts.alerts.check import check_alerts
from okta_alerts.alerts.queries import query_rule
from okta_alerts.alerts.rules import load_rules
from okta_alerts.analysis.networks import KnownNetworks

TARGET_SECONDS = 2.0  # at 10M events


def run_alerts(scales: list[int], runs: int = 5, seed: int = 7) -> dict[str, Any]:
    return {"scales": [run_scale(scale, runs, seed) for scale in scales]}


def run_scale(scale: int, runs: int, seed: int) -> dict[str, Any]:
    built = build_store(scale, seed)
    settings = bench_settings(built.data_dir)
    rules = load_rules(settings.rules)
    result = check_alerts(settings, now=built.end, dry_run=True)  # warm-up
    check_times = []
    for _ in range(runs):
        started = time.perf_counter()
        check_alerts(settings, now=built.end, dry_run=True)
        check_times.append(time.perf_counter() - started)
    started = time.perf_counter()
    con = okta_alerts.connect(built.data_dir)
    connect_s = time.perf_counter() - started
    networks = KnownNetworks.from_settings(settings)
    per_rule: dict[str, list[float]] = {rule.id: [] for rule in rules}
    floor_times = []
    try:
        for run in range(runs + 1):  # run 0 warms up
            total = 0.0
            for rule in rules:
                began = time.perf_counter()
                query_rule(con, rule, built.end, networks)
                spent = time.perf_counter() - began
                total += spent
                if run:
                    per_rule[rule.id].append(spent)
            if run:
                floor_times.append(total)
    finally:
        con.close()
    check_s, floor_s = median(check_times), median(floor_times)
    storm_at, storm = time_storm_check(settings, built.data_dir, runs)
    evaluation = result.evaluation
    return {
        "events": built.events,
        "now": built.end.isoformat(),
        "rules_file": str(settings.rules.name),
        "rules": len(rules),
        "check_median_s": round(check_s, 4),
        "check_runs_s": [round(t, 4) for t in check_times],
        "floor_median_s": round(floor_s, 4),
        "floor_connect_s": round(connect_s, 4),
        "ratio_check_to_floor": ratio(check_s, floor_s),
        "meets_target": check_s <= TARGET_SECONDS,
        "rule_query_median_s": {k: round(median(v), 4) for k, v in per_rule.items()},
        "firing": sorted(f"{a.rule.id}:{a.key}" for a in evaluation.firing),
        "resolved": len(evaluation.resolved),
        "storm_now": storm_at.isoformat(),
        "storm_check_median_s": round(median(storm[0]), 4),
        "storm_meets_target": median(storm[0]) <= TARGET_SECONDS,
        "storm_firing": storm[1],
    }


def time_storm_check(
    settings: Any, data_dir: Any, runs: int
) -> tuple[datetime, tuple[list[float], list[str]]]:
    """The check a quarter-hour into the last day's busiest lockout hour (the simulated storm
    and spray): the rules that fire do their extra queries then."""
    con = okta_alerts.connect(data_dir)
    try:
        row = con.execute(
            "SELECT date_trunc('hour', published) AS h FROM lockouts"
            " WHERE published >= (SELECT max(published) FROM lockouts) - INTERVAL 1 DAY"
            " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    at = (row[0] if row else datetime.now(UTC)) + timedelta(minutes=45)
    result = check_alerts(settings, now=at, dry_run=True)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        check_alerts(settings, now=at, dry_run=True)
        times.append(time.perf_counter() - started)
    return at, (times, sorted(f"{a.rule.id}:{a.key}" for a in result.evaluation.firing))


def alerts_summary(body: dict[str, Any]) -> str:
    lines = []
    for s in body["scales"]:
        mark = "ok" if s["meets_target"] else f"over {TARGET_SECONDS:g} s"
        lines.append(
            f"alerts: check --dry-run, {s['rules']} rules ({s['rules_file']}), "
            f"{s['events']:,} events, at {s['now']}"
        )
        lines.append(
            f"  check {s['check_median_s']:.3f} s  floor (rule queries alone) "
            f"{s['floor_median_s']:.3f} s  check/floor {s['ratio_check_to_floor']}x  {mark}"
        )
        storm_mark = "ok" if s["storm_meets_target"] else f"over {TARGET_SECONDS:g} s"
        lines.append(
            f"  at the storm ({s['storm_now']}): check {s['storm_check_median_s']:.3f} s, "
            f"{len(s['storm_firing'])} firing  {storm_mark}"
        )
        slowest = sorted(s["rule_query_median_s"].items(), key=lambda kv: -kv[1])[:3]
        lines.append("  slowest rule queries: " + ", ".join(f"{k} {v:.3f} s" for k, v in slowest))
        firing = s["firing"]
        lines.append(
            f"  {len(firing)} firing: {', '.join(firing[:6])}{' ...' if len(firing) > 6 else ''}"
        )
    return "\n".join(lines)
