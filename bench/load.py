"""Loading NDJSON into a compacted, queryable store, against DuckDB's one-pass conversion.

One NDJSON file of ``events`` realistic events (the simulator's day, replicated with fresh uuids
as in :mod:`bench.storebuild`) is loaded three ways, each in a subprocess, one after the other,
``repeats`` times:

- **duckdb**: the baseline, DuckDB converting the file to one zstd Parquet file in one pass
  (``COPY (SELECT * FROM read_ndjson(...)) TO ... (FORMAT parquet, COMPRESSION zstd)``);
- **ingest**: ``okta-alerts ingest FILE`` into a fresh data dir; it returns once the events are
  sealed into parts and merged, queryable through ``okta_alerts.connect()``;
- **backlog**: the same events left as journals (as after a crash, or a writer stopped under a
  burst), then ``okta-alerts compact``: what the writer's memory reaches while it catches up.

Each run's wall time and peak RSS (``wait4``) are kept; the report gives medians, the ratio
ingest / duckdb (target at most ``TARGET_RATIO``) and the bytes per event on disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import okta_alerts
from bench.processes import BenchError, clean_env
from bench.results import ROOT, WORK, median, ratio
from bench.storebuild import DAYS, base_events, render_event, rounds, write_journal
from okta_alerts.store.status import store_status

TARGET_RATIO = 2.0
MEMORY_TARGET_MB = 400
BIN = Path(sys.executable).parent
DUCKDB_ONE_PASS = (
    "import duckdb, sys; con = duckdb.connect(config={'threads': 2}); "
    'con.execute("COPY (SELECT * FROM read_ndjson(\'" + sys.argv[1] + "\')) TO \'" '
    '+ sys.argv[2] + "\' (FORMAT parquet, COMPRESSION zstd)")'
)


def run_load(events: int = 1_000_000, repeats: int = 3, seed: int = 7) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="load-", dir=WORK))
    try:
        source = root / "events.ndjson"
        written = write_ndjson(source, events, seed)
        runs = []
        for repeat in range(repeats):
            for target in ("duckdb", "ingest", "backlog"):
                folder = root / f"{target}-{repeat}"
                folder.mkdir()
                run = _run(target, source, folder, written, seed)
                runs.append(run | {"target": target, "repeat": repeat})
                shutil.rmtree(folder, ignore_errors=True)
        return summarize(runs, written, source.stat().st_size)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_ndjson(path: Path, events: int, seed: int) -> int:
    """The simulated day replicated over ``DAYS`` days with fresh uuids: one event a line."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=DAYS + 1)
    base = base_events(seed, start)
    written = 0
    with open(path, "wb", buffering=1 << 22) as out:
        for copies in rounds(events, len(base)):
            journal = path.with_suffix(".journal")
            write_journal(journal, base, copies)
            with open(journal, "rb") as lines:
                for line in lines:  # the event is the journal line's "event" member
                    out.write(line[line.index(b',"event":') + 9 : -2] + b"\n")
                    written += 1
            journal.unlink()
    return written


def _run(target: str, source: Path, folder: Path, events: int, seed: int) -> dict[str, Any]:
    data = folder / "data"
    if target == "duckdb":
        command = [sys.executable, "-c", DUCKDB_ONE_PASS, str(source), str(folder / "out.parquet")]
    elif target == "ingest":
        command = [str(BIN / "okta-alerts"), "ingest", str(source), "--data-dir", str(data),
                   "--no-progress"]  # fmt: skip
    else:
        _journals(data, events, seed)
        command = [str(BIN / "okta-alerts"), "compact", "--data-dir", str(data)]
    seconds, peak_kb = timed(command, folder)
    run: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    if target == "duckdb":
        run["bytes_per_event"] = round((folder / "out.parquet").stat().st_size / events, 1)
    else:
        run |= _stored(data, events)
    return run


def _journals(data: Path, events: int, seed: int) -> None:
    """The events as journals a writer left unsealed, written as the receiver writes them."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=DAYS + 1)
    base = base_events(seed, start)
    journal_dir = data / "events" / "journal"
    journal_dir.mkdir(parents=True)
    for number, copies in enumerate(rounds(events, len(base)), start=1):
        write_journal(journal_dir / f"{number:012d}.ndjson", base, copies)


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB, from ``wait4``) of ``command``; BenchError if it fails."""
    log = cwd / "output.log"
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=clean_env({"PYTHONPATH": str(ROOT)}), stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-500:]
        raise BenchError(f"{' '.join(command[:2])} failed ({process.returncode}): {tail}")
    return seconds, usage.ru_maxrss


def _stored(data: Path, events: int) -> dict[str, Any]:
    con = okta_alerts.connect(data)
    try:
        row = con.execute("SELECT count(*), count(DISTINCT uuid) FROM events").fetchone()
    finally:
        con.close()
    status = store_status(data / "events")
    stored, distinct = row if row else (0, 0)
    return {
        "stored_ok": stored == distinct == events,
        "parts": status.parts,
        "bytes_per_event": round(status.bytes_per_event or 0.0, 1),
    }


def summarize(runs: list[dict[str, Any]], events: int, ndjson_bytes: int) -> dict[str, Any]:
    medians = {
        target: {
            key: median([r[key] for r in runs if r["target"] == target])
            for key in ("seconds", "events_per_s", "peak_rss_mb", "bytes_per_event")
        }
        for target in ("duckdb", "ingest", "backlog")
    }
    slower = ratio(medians["ingest"]["seconds"], medians["duckdb"]["seconds"])
    writer_peak = max(r["peak_rss_mb"] for r in runs if r["target"] != "duckdb")
    return {
        "events": events,
        "ndjson_bytes_per_event": round(ndjson_bytes / events, 1),
        "runs": runs,
        "median": medians,
        "ratio_ingest_to_duckdb": slower,
        "writer_peak_rss_mb": writer_peak,
        "stored_ok": all(r.get("stored_ok", True) for r in runs),
        "targets": {
            "ratio_ingest_to_duckdb": {"value": slower, "target": f"<= {TARGET_RATIO}",
                                       "met": slower is not None and slower <= TARGET_RATIO},
            "writer_peak_rss_mb": {"value": writer_peak, "target": f"<= {MEMORY_TARGET_MB}",
                                   "met": writer_peak <= MEMORY_TARGET_MB},
            "bytes_per_event": {"value": medians["ingest"]["bytes_per_event"],
                                "target": "<= 250",
                                "met": medians["ingest"]["bytes_per_event"] <= 250},
        },
    }  # fmt: skip


def load_summary(body: dict[str, Any]) -> str:
    m = body["median"]
    lines = [f"load: {body['events']:,} events of NDJSON ({body['ndjson_bytes_per_event']} B each)"]
    for target, label in (
        ("duckdb", "DuckDB one pass → Parquet"),
        ("ingest", "okta-alerts ingest → store"),
        ("backlog", "journals → okta-alerts compact"),
    ):
        lines.append(
            f"  {label:<32} {m[target]['seconds']:>7.1f} s {m[target]['events_per_s']:>9,.0f} "
            f"events/s  peak RSS {m[target]['peak_rss_mb']:>5,.0f} MB  "
            f"{m[target]['bytes_per_event']:>5.0f} B/event"
        )
    verdicts = ", ".join(
        f"{name} {t['value']} ({t['target']}: {'ok' if t['met'] else 'MISSED'})"
        for name, t in body["targets"].items()
    )
    lines.append(f"  {verdicts}; stored_ok {body['stored_ok']}")
    return "\n".join(lines)


__all__ = ["load_summary", "render_event", "run_load"]
