"""The issue's targets checked against a result, and the compact human summary."""

from __future__ import annotations

from typing import Any

from bench.readers import TARGET_SECONDS

# The single receiving process's floor on this 2-core machine: the median throughput, and the
# latency and memory of the worst run (a stall in any run counts).
INGEST_TARGETS = {
    "events_per_s": (">=", 25_000),
    "p99_ms_worst_run": ("<=", 100),
    "ratio_vs_naive": (">=", 50),
    "peak_rss_mb_worst_run": ("<=", 250),
    "bytes_per_event": ("<=", 250),
    "stored_ok": ("==", True),
}


def ingest_targets(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    okta = body["median"]["okta_alerts"]
    runs = [r for r in body["runs"] if r["target"] == "okta_alerts"]
    values = {
        "events_per_s": okta["events_per_s"],
        "p99_ms_worst_run": max(r["p99_ms"] for r in runs),
        "ratio_vs_naive": body["ratio_events_per_s"],
        "peak_rss_mb_worst_run": max(r["peak_rss_mb"] for r in runs),
        "bytes_per_event": body["storage"]["bytes_per_event"],
        "stored_ok": okta["stored_ok"],
    }
    return {name: _check(values[name], *rule) for name, rule in INGEST_TARGETS.items()}


def _check(value: Any, op: str, target: Any) -> dict[str, Any]:
    met = {
        ">=": lambda: value is not None and value >= target,
        "<=": lambda: value is not None and value <= target,
        "==": lambda: value == target,
    }[op]()
    return {"value": value, "target": f"{op} {target}", "met": met}


def ingest_summary(body: dict[str, Any], config: dict[str, Any]) -> str:
    lines = [
        f"ingest: wrk -t{config['threads']} -c{config['connections']} -d{config['seconds']}s, "
        f"{body['events_per_delivery']} events/delivery ({body['delivery_body_bytes'] / 1000:.0f}"
        f" KB), medians of {config['repeats']} repeat(s)"
    ]
    for target, label in (("okta_alerts", "okta-alerts"), ("naive", "naive")):
        m = body["median"][target]
        lines.append(
            f"  {label:<12}{m['events_per_s']:>9,.0f} events/s {m['deliveries_per_s']:>8,.1f} "
            f"deliveries/s  p50 {m['p50_ms']:>7,.0f} ms  p99 {m['p99_ms']:>7,.0f} ms  "
            f"RSS {m['peak_rss_mb']:>5,.0f} MB  non-2xx {m['non2xx']}  "
            f"stored_ok {m['stored_ok']}"
        )
        lines.append(
            f"  {'':<12}server used {m['server_cores']:.2f} cores "
            f"({m['events_per_server_cpu_s']:,.0f} events per CPU-second); other processes on "
            f"the machine used {m['other_processes_cores']:.2f} cores"
        )
    lines.append(
        f"  ratio {body['ratio_events_per_s']}x naive (by repeat: "
        f"{body['ratio_events_per_s_by_repeat']}); {_storage_text(body['storage'])}"
    )
    lines += _target_lines(body["targets"])
    return "\n".join(lines)


def _storage_text(storage: dict[str, Any]) -> str:
    if storage.get("compact_failed"):
        return (
            f"okta-alerts compact FAILED after {storage['compact_seconds']} s on "
            f"{storage['events']:,} events: {storage['compact_failed']}"
        )
    return (
        f"storage {storage['bytes_per_event']:.0f} B/event = {storage['fraction_of_ndjson']:.1%} "
        f"of {storage['ndjson_bytes_per_event']:.0f} B NDJSON; compact "
        f"{storage['compact_events_per_s']:,} events/s"
    )


def readers_summary(body: dict[str, Any]) -> str:
    lines = []
    for scale in body["scales"]:
        build = scale["build"]
        cached = " (cached)" if build.get("cached") else ""
        lines.append(
            f"readers: {scale['events']:,} events over 30 days; built in "
            f"{build['build_seconds']:.0f} s{cached}, compaction "
            f"{build['compaction_events_per_s']:,} events/s; table in {scale['baseline']['where']}"
        )
        storage = scale.get("storage") or {}
        if storage.get("bytes_per_event"):
            lines.append(
                f"  storage {storage['bytes_per_event']:.0f} B/event on disk = "
                f"{storage['fraction_of_ndjson']:.1%} of {storage['ndjson_bytes_per_event']:.0f} B "
                f"NDJSON ({storage['parts']} parts)"
            )
        for name, q in scale["queries"].items():
            mark = "ok" if q["meets_target"] else f"over {TARGET_SECONDS} s"
            lines.append(
                f"  {name:<26} store {q['store_median_s']:>7.3f} s  table "
                f"{q['table_median_s']:>7.3f} s  store/table {q['ratio_store_to_table']:>6}  {mark}"
            )
    return "\n".join(lines)


def _target_lines(targets: dict[str, dict[str, Any]]) -> list[str]:
    missed = [f"{k} {v['value']} (want {v['target']})" for k, v in targets.items() if not v["met"]]
    return [f"  targets: {'all met' if not missed else 'missed: ' + '; '.join(missed)}"]
