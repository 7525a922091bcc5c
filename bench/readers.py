"""Reader queries over a large store, against the same rows in a plain DuckDB table.

The store is built once per scale through the real writer (:mod:`bench.storebuild`) and queried
through ``okta_alerts.connect()``. The baseline holds the same rows in one DuckDB table
(``CREATE TABLE events AS SELECT * FROM <the store's events>``) with the same views on top: in
memory when it fits comfortably, else in a DuckDB file cached next to the store. Each query runs
once to warm up, then ``runs`` times; the median is reported, and both sides must agree.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

import okta_alerts
from bench.processes import BenchError
from bench.results import ROOT, median
from bench.storebuild import BuiltStore, build_store, store_dir
from okta_alerts.read.connect import view_statements
from okta_alerts.store.status import store_status

TARGET_SECONDS = 0.5
IN_MEMORY_MAX_EVENTS = 2_000_000  # about 2.3 KB of raw JSON per event, uncompressed in memory
BATCH_ROWS = 100_000
_VIEW_NAME = re.compile(r"\s*CREATE VIEW (\w+) AS")
NDJSON_SAMPLE = 20_000
QUERY_BUDGET_SECONDS = 30.0  # a slow query is timed fewer times

QUERIES: dict[str, str] = {
    "hourly_lockouts_30d": """
        WITH hours AS (
          SELECT unnest(generate_series($start, $end - INTERVAL 1 HOUR, INTERVAL 1 HOUR)) AS hour
        ), counts AS (
          SELECT date_trunc('hour', published) AS hour, count(*) AS lockouts
          FROM lockouts WHERE published >= $start AND published < $end GROUP BY 1
        )
        SELECT hours.hour, coalesce(counts.lockouts, 0) AS lockouts
        FROM hours LEFT JOIN counts USING (hour) ORDER BY hours.hour""",
    "top10_locked_users": """
        SELECT actor_alternate_id AS user_login, count(*) AS lockouts
        FROM lockouts WHERE published >= $start AND published < $end
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10""",
    "total_events": "SELECT count(*) FROM events",
    "assignment_errors_by_app": """
        SELECT app_name, count(*) AS errors
        FROM assignment_errors WHERE published >= $start AND published < $end
        GROUP BY 1 ORDER BY 2 DESC, 1""",
}


def run_readers(scales: list[int], runs: int = 5, seed: int = 7) -> dict[str, Any]:
    """Build (or reuse) each scale's store and time every query on both sides."""
    return {"scales": [run_scale(scale, runs, seed) for scale in scales]}


def run_scale(scale: int, runs: int, seed: int) -> dict[str, Any]:
    built = build_store(scale, seed)
    store = okta_alerts.connect(built.data_dir)
    try:
        started = time.monotonic()
        table, where = baseline_connection(store, built)
        table_seconds = time.monotonic() - started
    finally:
        store.close()
    store = okta_alerts.connect(built.data_dir)
    storage = storage_per_event(store, built.data_dir)
    params = {"start": built.start, "end": built.end}
    queries: dict[str, Any] = {}
    try:
        for name, sql in QUERIES.items():
            store_s, store_rows = time_query(store, sql, params, runs)
            table_s, table_rows = time_query(table, sql, params, runs)
            if store_rows != table_rows:
                raise BenchError(f"{name}: the store and the table disagree")
            queries[name] = {
                "store_median_s": round(store_s, 4),
                "table_median_s": round(table_s, 4),
                "ratio_store_to_table": round(store_s / table_s, 2) if table_s else None,
                "rows": len(store_rows),
                "meets_target": store_s <= TARGET_SECONDS,
            }
    finally:
        store.close()
        table.close()
    return {
        "events": built.events,
        "window": [built.start.isoformat(), built.end.isoformat()],
        "build": built.info,
        "storage": storage,
        "baseline": {"where": where, "load_seconds": round(table_seconds, 1)},
        "queries": queries,
    }


def storage_per_event(store: duckdb.DuckDBPyConnection, data_dir: Path) -> dict[str, Any]:
    """Bytes on disk per event (manifest files ÷ rows) against the events' NDJSON size."""
    status = store_status(data_dir / "events")
    row = store.execute(
        f"SELECT avg(strlen(raw::VARCHAR)) + 1 FROM (SELECT raw FROM events LIMIT {NDJSON_SAMPLE})"
    ).fetchone()
    ndjson = float(row[0]) if row and row[0] is not None else None
    per_event = status.bytes_per_event
    return {
        "bytes": status.bytes_on_disk,
        "parts": status.parts,
        "bytes_per_event": round(per_event, 1) if per_event else None,
        "ndjson_bytes_per_event": round(ndjson, 1) if ndjson else None,
        "fraction_of_ndjson": round(per_event / ndjson, 3) if per_event and ndjson else None,
    }


def time_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, datetime],
    runs: int,
    budget_seconds: float = QUERY_BUDGET_SECONDS,
) -> tuple[float, list[tuple[Any, ...]]]:
    """Median wall seconds of up to ``runs`` warm executions (fewer once ``budget_seconds`` of
    timed runs are spent, at least one), and the result rows."""
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    rows = con.execute(sql, used).fetchall()  # warm-up
    times: list[float] = []
    while len(times) < runs and (not times or sum(times) < budget_seconds):
        started = time.perf_counter()
        con.execute(sql, used).fetchall()
        times.append(time.perf_counter() - started)
    return median(times), rows


def baseline_connection(
    store: duckdb.DuckDBPyConnection, built: BuiltStore
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection holding the store's rows in one plain table, with the same views on top.

    The table takes the name of the store's base view (the one that reads the files); every
    view the reader defines on top of it is created as is.
    """
    base, views = split_views(view_statements())
    if built.events <= IN_MEMORY_MAX_EVENTS:
        con = duckdb.connect(":memory:")
        _configure(con)
        _copy_rows(store, con, base)
        return _with_views(con, views), "memory"
    path = store_dir(built.events) / "table.duckdb"
    done = path.with_suffix(".done")
    if not done.exists():
        path.unlink(missing_ok=True)
        con = duckdb.connect(str(path))
        _configure(con)
        _copy_rows(store, con, base)
        con.execute("CHECKPOINT")
        con.close()
        done.touch()
    con = duckdb.connect(str(path), read_only=True)
    _configure(con)
    return _with_views(con, views, temporary=True), f"file {_relative(path)}"


def split_views(statements: list[str]) -> tuple[str, list[str]]:
    """(name of the view that reads the store's files, the statements of the views on top)."""
    for index, statement in enumerate(statements):
        if "okta_alerts_parts()" in statement:
            found = _VIEW_NAME.match(statement)
            if found is None:
                break
            return found.group(1), statements[:index] + statements[index + 1 :]
    raise BenchError("okta_alerts.read.connect has no view over the parts")


def _copy_rows(store: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, name: str) -> None:
    batches = store.sql(f"SELECT * FROM {name}").to_arrow_reader(BATCH_ROWS)
    con.register("store_rows", batches)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM store_rows")
    con.unregister("store_rows")


def _with_views(
    con: duckdb.DuckDBPyConnection, views: list[str], temporary: bool = False
) -> duckdb.DuckDBPyConnection:
    for statement in views:
        if temporary:
            statement = statement.replace("CREATE VIEW", "CREATE TEMP VIEW", 1)
        con.execute(statement)
    return con


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()
