"""Generated events through the real column extraction and views into an in-memory DuckDB, and
the alert checks a scheduler would make over them, with real state.

:func:`extracted` turns LogEvents into the stored columns (``okta.columns.extract_sql``, what
compaction does) as an Arrow table, so a large baseline is extracted once and shared;
:func:`connection` puts tables of such rows behind the real views (``read.views``); :func:`replay`
evaluates rules every ``step`` with a real state file, recording what a check records and
rendering the digest a 2,000-character chat target would get.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from okta_alerts.alerts.digest import Digest, DigestOptions, render_digest
from okta_alerts.alerts.evaluate import Alert, Evaluation, evaluate_rules
from okta_alerts.alerts.rules import Rule
from okta_alerts.alerts.state import State
from okta_alerts.analysis.networks import KnownNetworks
from okta_alerts.okta.columns import extract_sql
from okta_alerts.read.views import VIEW_NAMES, view_statements

STEP = timedelta(minutes=15)  # how often the shipped schedule's checks run, at most


def extracted(events: Sequence[dict[str, Any]]) -> pa.Table:
    """The stored columns of ``events`` (the raw JSON left out: no view needs it here)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    source = pa.table(
        {
            "delivery_id": pa.array(["hook"] * len(events), pa.string()),
            "received_at": pa.array([e["published"] for e in events], pa.string()),
            "raw": pa.array([orjson.dumps(e).decode() for e in events], pa.string()),
        }
    )
    con.register("_source_arrow", source)
    con.execute(
        "CREATE TABLE _source AS SELECT delivery_id, CAST(received_at AS TIMESTAMPTZ)"
        " AS received_at, CAST(raw AS JSON) AS raw FROM _source_arrow"
    )
    table = con.sql(
        f"SELECT * EXCLUDE (raw), NULL::JSON AS raw FROM ({extract_sql('_source')})"
    ).to_arrow_table()
    con.close()
    return table


def connection(*tables: pa.Table) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose ``_stored_events`` holds ``tables`` (oldest first) under the real
    views (``events``, ``lockouts``, ``unlocks``, ``assignment_errors``, ``hook_gaps``)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 1")  # tiny tables: one thread is fastest, and the box is shared
    for number, table in enumerate(tables):
        con.register(f"_part{number}", table)
    union = " UNION ALL ".join(f"SELECT * FROM _part{n}" for n in range(len(tables)))
    con.execute(f"CREATE TABLE _stored_events AS SELECT * FROM ({union}) ORDER BY published")
    for number in range(len(tables)):
        con.unregister(f"_part{number}")
    for statement in view_statements():
        if "CREATE VIEW _stored_events" not in statement:
            con.execute(statement)
    # Each view's rows once, as a table of the same name in a schema searched first: a check
    # of a dozen rules then costs milliseconds, and what the views select is still what is read.
    con.execute("CREATE SCHEMA rows")
    for view in VIEW_NAMES:
        con.execute(f"CREATE TABLE rows.{view} AS SELECT * FROM main.{view} ORDER BY published")
    con.execute("SET search_path = 'rows,main'")
    return con


@dataclass(frozen=True)
class Check:
    """One check: its time, what evaluation found, and the digest it would send."""

    now: datetime
    evaluation: Evaluation
    digest: Digest | None


def replay(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    start: datetime,
    end: datetime,
    state_path: Path,
    networks: KnownNetworks | None = None,
    step: timedelta = STEP,
) -> list[Check]:
    """Checks at ``start + step``, ``start + 2 step`` ... up to ``end``, as a scheduler would."""
    state = State(state_path)
    checks = []
    try:
        now = start + step
        while now <= end:
            evaluation = evaluate_rules(con, rules, now, state.memory(), networks)
            state.record(evaluation)
            announced = evaluation.announced
            digest = (
                render_digest(announced, now, DigestOptions("markdown", 2000))
                if announced
                else None
            )
            checks.append(Check(now, evaluation, digest))
            now += step
    finally:
        state.release()
    return checks


def first_firing(checks: Sequence[Check], rule_id: str) -> tuple[Check, Alert] | None:
    """The first check where ``rule_id`` fires, and its alert."""
    for check in checks:
        for alert in check.evaluation.firing:
            if alert.rule.id == rule_id:
                return check, alert
    return None
