"""ingest, query, status and compact from the command line."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import okta_alerts
from okta_alerts.cli import main
from okta_alerts.store.writer import open_writer
from tests.support.factories import envelope, make_event
from tests.support.ports import free_port
from tests.support.receiver_process import SECRET, running_receiver
from tests.support.settings import make_settings


def run(*args: str, data_dir: Path) -> Any:
    return CliRunner().invoke(main, [*args, "--data-dir", str(data_dir)], env={})


def lines(events: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def make_files(folder: Path) -> tuple[list[Path], int]:
    """One file of each format, each with a bad item in the middle; returns files, good events."""
    events = [make_event(actor=f"u{i}@example.com") for i in range(16)]
    ndjson = folder / "events.ndjson"
    ndjson.write_bytes(lines(events[:2]) + b'{"uuid": "broken\n' + lines(events[2:4]))
    array = folder / "logs.json"
    array.write_bytes(
        orjson.dumps([*events[4:6], {"uuid": "no-type"}, *events[6:8]], option=orjson.OPT_INDENT_2)
    )
    hooks = folder / "hooks.ndjson"
    hooks.write_bytes(
        orjson.dumps(envelope(events[8:10]))
        + b"\n"
        + b"not json\n"
        + orjson.dumps(envelope(events[10:12]))
        + b"\n"
    )
    packed = folder / "more.ndjson.gz"
    packed.write_bytes(gzip.compress(lines(events[12:14]) + b"[]\n" + lines(events[14:16])))
    return [ndjson, array, hooks, packed], 16


def test_ingest_reads_every_format_and_reports_bad_lines(tmp_path: Path, data_dir: Path) -> None:
    files, good = make_files(tmp_path)
    result = run("ingest", *map(str, files), data_dir=data_dir)
    assert result.exit_code == 1, result.output
    assert f"{good} events stored" in result.output
    assert "4 bad item(s) skipped" in result.output
    assert f"{files[0]}:3: not valid JSON" in result.output
    assert f"{files[1]} item 2: `eventType` is missing" in result.output
    assert f"{files[2]}:2: not valid JSON" in result.output
    assert f"{files[3]}:3: must be an object, not a list" in result.output
    con = okta_alerts.connect(data_dir)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (good,)
    again = run("ingest", *map(str, files), data_dir=data_dir)
    assert again.exit_code == 1
    assert con.execute("SELECT count(*) FROM events").fetchone() == (good,), "no duplicates"


def test_ingest_of_clean_files_exits_0(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "clean.ndjson"
    path.write_bytes(lines([make_event() for _ in range(3)]))
    result = run("ingest", str(path), data_dir=data_dir)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_ingest_hands_the_events_to_the_receiver_that_owns_the_data_dir(
    tmp_path: Path, data_dir: Path
) -> None:
    path = tmp_path / "clean.ndjson"
    events = [make_event(actor=f"u{i}@example.com") for i in range(5)]
    path.write_bytes(lines(events))
    port = free_port()
    with running_receiver(data_dir, port, tmp_path / "receiver.log"):
        args = ["ingest", str(path), "--data-dir", str(data_dir)]
        wrong = CliRunner().invoke(main, args, env={"OKTA_ALERTS_AUTH_SECRET": "wrong"})
        assert wrong.exit_code == 6  # refused, not locked
        assert "refused the hand-off (HTTP 401" in wrong.output
        assert "OKTA_ALERTS_AUTH_SECRET" in wrong.output and "Traceback" not in wrong.output
        result = CliRunner().invoke(main, args, env={"OKTA_ALERTS_AUTH_SECRET": SECRET})
        assert result.exit_code == 0, result.output
        assert "through the running receiver at" in result.output
        assert "5 events stored" in result.output
        con = okta_alerts.connect(data_dir)  # visible when the command returns
        assert con.execute("SELECT count(*) FROM events").fetchone() == (5,)
        again = CliRunner().invoke(main, args, env={"OKTA_ALERTS_AUTH_SECRET": SECRET})
        assert again.exit_code == 0
        assert con.execute("SELECT count(*) FROM events").fetchone() == (5,), "no duplicates"


def test_ingest_with_no_reachable_receiver_says_what_to_do(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "clean.ndjson"
    path.write_bytes(lines([make_event()]))
    owner = f"okta-alerts serve on 127.0.0.1:{free_port()}"  # nothing listens there
    with open_writer(make_settings(data_dir), owner=owner):
        result = run("ingest", str(path), data_dir=data_dir)
    assert result.exit_code == 3
    assert f"is in use by {owner}" in result.output
    assert "did not take the events" in result.output
    assert "start that receiver again" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def filled(data_dir: Path, fill_store: Any) -> Path:
    fill_store([make_event("user.account.lock", actor=f"u{i}@example.com") for i in range(3)])
    return data_dir


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", '[{"n":3,"t":"user.account.lock"}]\n'),
        ("csv", "n,t\n3,user.account.lock\n"),
    ],
)
def test_query_formats(filled: Path, fmt: str, expected: str) -> None:
    result = run(
        "query",
        "SELECT count(*) AS n, any_value(event_type) AS t FROM lockouts",
        "--format",
        fmt,
        data_dir=filled,
    )
    assert result.exit_code == 0, result.output
    assert result.output == expected


def test_query_table_format(filled: Path) -> None:
    result = run("query", "SELECT actor_alternate_id FROM events ORDER BY 1", data_dir=filled)
    assert result.exit_code == 0
    assert "u0@example.com" in result.output
    assert "3 row(s)" in result.output


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM events",
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT 1) TO '/tmp/okta-alerts-should-not-exist.csv'",
        "ATTACH '/tmp/x.duckdb'",
        "SELECT 1; DROP VIEW events",
        "INSTALL httpfs",
    ],
)
def test_query_refuses_writes(filled: Path, sql: str) -> None:
    result = run("query", sql, data_dir=filled)
    assert result.exit_code == 1
    assert "only read-only queries are allowed" in result.output
    con = okta_alerts.connect(filled)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (3,)


def test_query_errors_are_one_line(filled: Path) -> None:
    result = run("query", "SELECT nope FROM events", data_dir=filled)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output


def test_status_and_compact(filled: Path) -> None:
    result = run("status", "--json", data_dir=filled)
    assert result.exit_code == 0
    body = orjson.loads(result.output)
    assert body["events"] == 3
    assert body["writer"] is None
    assert body["journals"] == 0
    assert body["parts"] == 1  # write_batches compacts when it finishes
    assert body["bytes_per_event"] > 0
    text = run("status", data_dir=filled)
    assert "events:         3" in text.output
    compacted = run("compact", data_dir=filled)
    assert compacted.exit_code == 0, compacted.output
    assert "compacted" in compacted.output


def test_status_counts_events_past_the_retention_and_events_dated_ahead(
    tmp_path: Path, data_dir: Path
) -> None:
    """Both are acknowledged and stored; compaction drops the old ones and counts them."""
    now = datetime.now(UTC)
    events = [
        make_event(published=now - timedelta(days=40)),
        make_event(published=now - timedelta(days=2)),
        make_event(published=now + timedelta(days=3)),
        make_event(published="9999-12-31T23:59:59.999Z"),
        make_event(published=now + timedelta(hours=2)),  # a skewed clock, not "the future"
    ]
    path = tmp_path / "events.ndjson"
    path.write_bytes(lines(events))
    env = {"OKTA_ALERTS_RETENTION_DAYS": "30"}
    args = ["--data-dir", str(data_dir)]
    assert CliRunner().invoke(main, ["ingest", str(path), *args], env=env).exit_code == 0
    body = orjson.loads(CliRunner().invoke(main, ["status", "--json", *args], env=env).output)
    assert (body["events"], body["expired_events"], body["future_events"]) == (4, 1, 2)
    text = CliRunner().invoke(main, ["status", *args], env=env).output
    assert "expired:        1 event(s) dropped for being older than the retention (30 days)" in text
    assert "future-dated:   2 event(s) published more than a day from now" in text
