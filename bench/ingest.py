"""HTTP ingest: the okta-alerts receiver and the naive baseline under the same wrk load.

Each repeat runs both targets, one after the other, each in a fresh data dir on a free loopback
port: wait for ``/healthz``, load it with wrk, read its peak RSS, SIGTERM it (okta-alerts seals
and compacts on the way out), then count what was stored: every acknowledged delivery must be
there, whole, once.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

import okta_alerts
from bench.payloads import (
    EVENTS_PER_DELIVERY,
    build_templates,
    ndjson_bytes_per_event,
    write_templates,
)
from bench.processes import (
    BenchError,
    CpuSample,
    clean_env,
    free_port,
    peak_rss_bytes,
    process_tree,
    running,
    stop,
)
from bench.results import ROOT, WORK, median, ratio
from bench.wrk import LoadResult, ensure_wrk, run_wrk
from okta_alerts.store.status import store_status

TARGETS = ("okta_alerts", "naive")
MEDIAN_KEYS = (
    "deliveries_per_s",
    "events_per_server_cpu_s",
    "events_per_s",
    "p50_ms",
    "p99_ms",
    "peak_rss_mb",
    "peak_rss_mb_incl_shutdown",
    "stop_seconds",
)
AUTH_HEADER = "Authorization"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class IngestConfig:
    seconds: int = 20
    connections: int = 32
    threads: int = 2
    repeats: int = 1
    seed: int = 42
    stop_timeout: float = 600.0
    seal_seconds: float = 1.0  # the receiver seals this often: 1 s puts sealing under the load


def run_ingest(config: IngestConfig) -> dict[str, Any]:
    """Run every repeat of both targets; return the result body (runs, medians, ratios)."""
    ensure_wrk()
    WORK.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="ingest-", dir=WORK))
    try:
        templates = build_templates(config.seed)
        template_file = write_templates(templates, root / "templates.bin")
        runs = []
        for repeat in range(config.repeats):
            for target in TARGETS:
                folder = root / f"{target}-{repeat}"
                run = run_target(target, config, template_file, folder, measure_storage=repeat == 0)
                run["repeat"] = repeat
                runs.append(run)
        return summarize(runs, ndjson_bytes_per_event(templates), len(templates[0]))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_target(
    target: str, config: IngestConfig, templates: Path, folder: Path, measure_storage: bool
) -> dict[str, Any]:
    """One target under load: throughput, latency, peak RSS, stop time, what was stored.

    With ``measure_storage``, okta-alerts' store is then compacted (timed) and its bytes per
    event measured; compaction is slow next to ingest, so only the first repeat does it.
    """
    folder.mkdir(parents=True)
    load_before = os.getloadavg()[0]
    data_dir, port, secret = folder / "data", free_port(), secrets.token_urlsafe(24)
    data_dir.mkdir()
    env = clean_env(
        {
            "OKTA_ALERTS_AUTH_SECRET": secret,
            "OKTA_ALERTS_SEAL_SECONDS": str(config.seal_seconds),
            "BENCH_AUTH_SECRET": secret,
            "PYTHONPATH": str(ROOT),
        }
    )
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    command = target_command(target, data_dir, port)
    with running(command, env, log, url + "/healthz", folder) as p:
        cpu_before = CpuSample.take(p.pid)
        load = run_wrk(
            url + "/hooks/okta",
            templates,
            AUTH_HEADER,
            secret,
            threads=config.threads,
            connections=config.connections,
            seconds=config.seconds,
        )
        cpu = CpuSample.take(p.pid).since(cpu_before)
        peak_under_load = peak_rss_bytes(p.pid)
        processes = len(process_tree(p.pid))
        stop_seconds, peak_at_stop = stop(p, config.stop_timeout)
    events, distinct = count_stored(target, data_dir)
    run = {
        "target": target,
        **load_metrics(load),
        "cpu": cpu,
        "events_per_server_cpu_s": round(
            load.acknowledged * EVENTS_PER_DELIVERY / max(cpu["server_s"], 0.01)
        ),
        "server_processes": processes,  # okta-alerts: the main process and its fronts
        "peak_rss_mb": round(peak_under_load / 2**20, 1),
        "peak_rss_mb_incl_shutdown": round(max(peak_under_load, peak_at_stop) / 2**20, 1),
        "stop_seconds": round(stop_seconds, 2),
        "exit_code": p.returncode,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        **durability(load, events, distinct),
    }
    if target == "okta_alerts" and measure_storage:
        run["storage"] = storage = storage_footprint(data_dir, folder)
        run["stored_ok"] = (
            run["stored_ok"] and storage.get("events_after_compact", events) == events
        )
    return run


def target_command(target: str, data_dir: Path, port: int) -> list[str]:
    """The command line of a target receiver (one process each)."""
    if target == "okta_alerts":
        return [str(BIN / "okta-alerts"), "serve", "--data-dir", str(data_dir), "--port",
                str(port), "--log-level", "warning"]  # fmt: skip
    if target == "naive":
        return [sys.executable, "-m", "bench.naive_receiver", "--db",
                str(data_dir / "naive.duckdb"), "--port", str(port)]  # fmt: skip
    raise BenchError(f"unknown target {target!r}")


def count_stored(target: str, data_dir: Path) -> tuple[int, int]:
    """(events, distinct uuids) stored by ``target`` in ``data_dir``, read after it stopped."""
    sql = "SELECT count(*), count(DISTINCT uuid) FROM events"
    if target == "okta_alerts":
        con = okta_alerts.connect(data_dir)
    else:
        con = duckdb.connect(str(data_dir / "naive.duckdb"), read_only=True)
    try:
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    if row is None:
        raise BenchError(f"no count from {target}")
    return int(row[0]), int(row[1])


def load_metrics(load: LoadResult) -> dict[str, Any]:
    per = EVENTS_PER_DELIVERY
    return {
        "seconds": round(load.seconds, 2),
        "deliveries_per_s": round(load.deliveries_per_second, 1),
        "events_per_s": round(load.deliveries_per_second * per, 0),
        "p50_ms": round(load.latency["p50"] * 1000, 1),
        "p90_ms": round(load.latency["p90"] * 1000, 1),
        "p99_ms": round(load.latency["p99"] * 1000, 1),
        "max_ms": round(load.latency["max"] * 1000, 1),
        "sent": load.sent,
        "acknowledged": load.acknowledged,
        "non2xx": load.non2xx,
        "socket_errors": load.socket_errors,
    }


def durability(load: LoadResult, events: int, distinct: int) -> dict[str, Any]:
    """Every acknowledged delivery stored, whole and once.

    wrk stops on a clock, so up to one request per connection is in flight then: the server may
    still store it though wrk never reads its answer. Hence acknowledged × 50 ≤ stored ≤ sent × 50,
    with the store a whole number of deliveries and no uuid twice.
    """
    per = EVENTS_PER_DELIVERY
    expected = load.acknowledged * per
    ok = expected <= events <= load.sent * per and events % per == 0 and distinct == events
    return {
        "stored_events": events,
        "acknowledged_events": expected,
        "stored_ok": ok,
        "stored_exact": events == expected,
        "stored_unacknowledged_deliveries": (events - expected) // per,
    }


def storage_footprint(data_dir: Path, folder: Path) -> dict[str, Any]:
    """``okta-alerts compact`` (timed), then bytes on disk per event: manifest files ÷ rows."""
    command = [str(BIN / "okta-alerts"), "compact", "--data-dir", str(data_dir)]
    started = time.monotonic()
    done = subprocess.run(
        command, env=clean_env({}), cwd=folder, capture_output=True, text=True, timeout=900
    )
    seconds = time.monotonic() - started
    status = store_status(data_dir / "events")
    if done.returncode != 0:
        return {
            "compact_failed": _last_error(done.stderr),
            "compact_seconds": round(seconds, 1),
            "events": status.events,
            "parts": status.parts,
            "bytes_per_event": None,
            "compact_events_per_s": None,
        }
    events, _ = count_stored("okta_alerts", data_dir)
    return {
        "compact_seconds": round(seconds, 1),
        "compact_events_per_s": round(status.events / seconds),
        "events_after_compact": events,
        "bytes": status.bytes_on_disk,
        "bytes_per_event": round(status.bytes_per_event or 0.0, 1),
        "parts": status.parts,
    }


def _last_error(stderr: str) -> str:
    """The error line of a traceback or a CLI message."""
    lines = [line for line in stderr.splitlines() if "Error" in line]
    return (lines[-1] if lines else stderr[-300:]).strip()


def summarize(
    runs: list[dict[str, Any]], ndjson_per_event: float, body_bytes: int
) -> dict[str, Any]:
    """Medians per target, the okta-alerts ÷ naive ratio, storage per event vs NDJSON."""
    medians: dict[str, dict[str, Any]] = {}
    for target in TARGETS:
        mine = [r for r in runs if r["target"] == target]
        medians[target] = {key: median([r[key] for r in mine]) for key in MEDIAN_KEYS}
        medians[target]["non2xx"] = sum(r["non2xx"] for r in mine)
        for key in ("server_cores", "other_processes_cores"):
            medians[target][key] = median([r["cpu"][key] for r in mine])
        medians[target]["stored_ok"] = all(r["stored_ok"] for r in mine)
    pairs = zip(runs[::2], runs[1::2], strict=True)
    storage = next(r["storage"] for r in runs if "storage" in r)
    return {
        "runs": runs,
        "median": medians,
        "ratio_events_per_s": ratio(
            medians["okta_alerts"]["events_per_s"], medians["naive"]["events_per_s"]
        ),
        "ratio_events_per_s_by_repeat": [
            ratio(a["events_per_s"], b["events_per_s"]) for a, b in pairs
        ],
        "storage": storage
        | {
            "ndjson_bytes_per_event": round(ndjson_per_event, 1),
            "fraction_of_ndjson": (
                round(storage["bytes_per_event"] / ndjson_per_event, 3)
                if storage["bytes_per_event"]
                else None
            ),
        },
        "delivery_body_bytes": body_bytes,
        "events_per_delivery": EVENTS_PER_DELIVERY,
    }


def config_dict(config: IngestConfig) -> dict[str, Any]:
    return asdict(config) | {
        "events_per_delivery": EVENTS_PER_DELIVERY,
        "load": "wrk",
    }
