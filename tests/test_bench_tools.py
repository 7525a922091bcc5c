"""The benchmark's own tools: unique payloads (Python and wrk's Lua), durability rule, results."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

import okta_alerts
from bench.ingest import durability, storage_footprint, summarize
from bench.load import load_summary
from bench.load import summarize as summarize_load
from bench.payloads import build_templates, ndjson_bytes_per_event, render, write_templates
from bench.readers import QUERIES, baseline_connection, time_query
from bench.report import ingest_summary, ingest_targets, readers_summary
from bench.results import document, write_result
from bench.soak import Hostile, soak_summary
from bench.soak import summarize as soak_summarize
from bench.storebuild import DAYS, BuiltStore, TimestampCache, render_event, rounds, split_event
from bench.wrk import SCRIPT, LoadResult, parse_wrk_output
from okta_alerts.okta.delivery import Batch, parse_delivery
from okta_alerts.store.writer import write_batches
from tests.support.factories import make_event
from tests.support.settings import make_settings

SECRET = "bench-test-secret"
UUID = re.compile(rb'"uuid":"([^"]+)"')


@pytest.fixture(scope="module")
def templates() -> list[bytes]:
    return build_templates(seed=3, count=3, per_delivery=50)


def test_rendered_deliveries_are_valid_and_unique(templates: list[bytes]) -> None:
    seen: set[str] = set()
    deliveries = set()
    for thread in (0, 1):
        for counter in range(6):
            body = render(templates[counter % 3], thread, counter, "2026-01-05T12:00:00.123Z")
            batch = parse_delivery(body)
            assert len(batch.events) == 50
            assert {e["published"] for e in batch.events} == {"2026-01-05T12:00:00.123Z"}
            seen.update(e["uuid"] for e in batch.events)
            deliveries.add(batch.delivery_id)
    assert len(seen) == 2 * 6 * 50
    assert len(deliveries) == 2 * 6
    assert 1500 < ndjson_bytes_per_event(templates) < 4000


def test_render_refuses_a_timestamp_of_the_wrong_length(templates: list[bytes]) -> None:
    with pytest.raises(ValueError):
        render(templates[0], 0, 0, "2026-01-05T12:00:00Z")


class _Catcher(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[tuple[dict[str, str], bytes]]
    answered: dict[int, int]
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.002)  # fewer requests to check
        with self.lock:
            self.bodies.append((dict(self.headers), body))
            status = 503 if len(self.bodies) % 5 == 0 else 200
            self.answered[status] = self.answered.get(status, 0) + 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # wrk resets its connections when its time is up


@pytest.fixture
def catcher() -> Iterator[tuple[ThreadingHTTPServer, type[_Catcher]]]:
    handler = type("Catcher", (_Catcher,), {"bodies": [], "answered": {}})
    server = _QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_lua_script_sends_unique_deliveries_and_counts_answers(
    templates: list[bytes], catcher: tuple[ThreadingHTTPServer, type[_Catcher]], tmp_path: Path
) -> None:
    server, handler = catcher
    path = write_templates(templates, tmp_path / "templates.bin")
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/okta"
    wrk = shutil.which("wrk") or "wrk"
    command = [wrk, "-t2", "-c4", "-d1s", "-s", str(SCRIPT), url, "--", str(path), "X-Auth"]
    done = subprocess.run(
        command,
        env=dict(os.environ, BENCH_AUTH_SECRET=SECRET),
        capture_output=True,
        text=True,
        timeout=30,
    )
    result = parse_wrk_output(done.stdout, done.stderr, done.returncode)

    received = list(handler.bodies)
    assert received, "wrk sent nothing"
    ids: list[str] = []
    for number, (headers, body) in enumerate(received):
        assert headers["X-Auth"] == SECRET
        assert headers["Content-Type"] == "application/json"
        ids += [m.decode() for m in UUID.findall(body)]
        if number % 50 == 0:  # parsing costs milliseconds a delivery: sample it
            events = parse_delivery(body).events
            assert [e["uuid"] for e in events] == ids[-50:]
            assert datetime.fromisoformat(events[0]["published"]).tzinfo == UTC
    assert len(ids) == len(set(ids)) == 50 * len(received)
    # wrk stops on a clock: what it counted can only lag what the server answered.
    assert result.acknowledged + result.non2xx <= len(received) <= result.sent
    assert 0 < result.acknowledged <= handler.answered.get(200, 0)
    assert 0 < result.non2xx <= handler.answered.get(503, 0)
    assert result.sent - (result.acknowledged + result.non2xx) <= 2 * 4  # in flight at the end


def load(acknowledged: int, sent: int) -> LoadResult:
    return LoadResult(20.0, sent, acknowledged, 0, {}, {"p50": 0.01, "p99": 0.05})


@pytest.mark.parametrize(
    ("acknowledged", "sent", "stored", "distinct", "ok", "exact"),
    [
        (10, 12, 500, 500, True, True),
        (10, 12, 600, 600, True, False),  # two in flight when wrk stopped, stored anyway
        (10, 12, 450, 450, False, False),  # an acknowledged delivery is missing
        (10, 12, 525, 525, False, False),  # half a delivery
        (10, 12, 700, 700, False, False),  # more than was ever sent
        (10, 12, 500, 499, False, True),  # a uuid twice
    ],
)
def test_durability_rule(
    acknowledged: int, sent: int, stored: int, distinct: int, ok: bool, exact: bool
) -> None:
    verdict = durability(load(acknowledged, sent), stored, distinct)
    assert verdict["stored_ok"] is ok
    assert verdict["stored_exact"] is exact


def test_parse_wrk_output_reads_the_lua_summary() -> None:
    line = (
        'BENCH_RESULT {"duration_us": 2000000, "responses": 9, "bytes": 1, "sent": 11, "ok": 8, '
        '"non2xx": 1, "errors": {"connect": 0, "read": 0, "write": 0, "status": 1, "timeout": 0},'
        ' "latency_us": {"p50": 1000, "p90": 2000, "p99": 3000, "p999": 4000, "max": 5000, '
        '"mean": 1500.0}}'
    )
    result = parse_wrk_output("Running 2s test\n" + line + "\n")
    assert (result.sent, result.acknowledged, result.non2xx) == (11, 8, 1)
    assert result.deliveries_per_second == 4.0
    assert result.latency["p99"] == pytest.approx(0.003)


def fake_run(target: str, events_per_s: float, storage: bool) -> dict[str, Any]:
    run: dict[str, Any] = {
        "target": target,
        "deliveries_per_s": events_per_s / 50,
        "events_per_s": events_per_s,
        "p50_ms": 10.0,
        "p99_ms": 50.0,
        "peak_rss_mb": 100.0,
        "peak_rss_mb_incl_shutdown": 120.0,
        "stop_seconds": 1.0,
        "non2xx": 0,
        "stored_ok": True,
        "events_per_server_cpu_s": events_per_s,
        "cpu": {"server_cores": 1.0, "other_processes_cores": 0.1},
    }
    if storage:
        run["storage"] = {"bytes_per_event": 200.0, "compact_events_per_s": 9000}
    return run


def test_result_documents_have_the_schema_and_both_files(tmp_path: Path) -> None:
    runs = [
        fake_run("okta_alerts", 50_000, True),
        fake_run("naive", 500, False),
        fake_run("okta_alerts", 40_000, False),
        fake_run("naive", 700, False),
    ]
    body = summarize(runs, ndjson_per_event=2000.0, body_bytes=100_000)
    body["targets"] = ingest_targets(body)
    assert body["median"]["okta_alerts"]["events_per_s"] == 45_000
    assert body["ratio_events_per_s"] == 75.0
    assert body["ratio_events_per_s_by_repeat"] == [100.0, 57.14]
    assert body["storage"]["fraction_of_ndjson"] == 0.1
    assert all(t["met"] for t in body["targets"].values())
    runs[2]["p99_ms"] = 180.0  # one slow run is enough to miss the latency floor
    assert not ingest_targets(summarize(runs, 2000.0, 100_000))["p99_ms_worst_run"]["met"]

    config = {"seconds": 20, "connections": 32, "threads": 2, "repeats": 2}
    stamped, latest = write_result(document("ingest", config, body), tmp_path)
    assert stamped.name.startswith("ingest-") and latest.name == "latest-ingest.json"
    saved = orjson.loads(latest.read_bytes())
    assert saved == orjson.loads(stamped.read_bytes())
    assert {"schema", "name", "created_at", "machine", "config", "runs", "median"} <= set(saved)
    assert {"nproc", "cpu_model", "python", "duckdb", "git_commit"} <= set(saved["machine"])
    assert "okta-alerts" in ingest_summary(body, config)


def test_readers_summary_flags_slow_queries() -> None:
    query = {"store_median_s": 0.7, "table_median_s": 0.1, "ratio_store_to_table": 7.0}
    body = {
        "scales": [
            {
                "events": 1000,
                "build": {"build_seconds": 3.0, "compaction_events_per_s": 5000},
                "baseline": {"where": "memory"},
                "queries": {"q": query | {"meets_target": False}},
            }
        ]
    }
    assert "over 0.5 s" in readers_summary(body)


def test_store_replicas_get_new_uuids_and_times() -> None:
    event: dict[str, Any] = {
        "uuid": "c9ec4f94-be5d-4ce0-a6de-5a303cd416d6",
        "published": "2026-01-01T10:00:00.250Z",
        "eventType": "user.account.lock",
        "actor": {"alternateId": "a@example.com"},
    }
    base = split_event(event, 4097)
    copy = orjson.loads(render_event(base, "0000002a", "2026-01-03T10:00:37.250Z"))
    assert copy == event | {
        "uuid": "0000002a-0001-4001-86de-5a303cd416d6",
        "published": "2026-01-03T10:00:37.250Z",
    }
    assert TimestampCache().format(base.published_ms + 37_000) == "2026-01-01T10:00:37.250Z"


def test_rounds_cover_every_day_with_the_requested_events() -> None:
    plan = [copy for batch in rounds(100_000, 3_000) for copy in batch]
    assert sum(take for _, take in plan) == 100_000
    per_day: dict[int, int] = {}
    for copy, take in plan:
        per_day[copy % DAYS] = per_day.get(copy % DAYS, 0) + take
    assert sorted(per_day) == list(range(DAYS))
    assert max(per_day.values()) - min(per_day.values()) <= 1
    assert len({copy for copy, _ in plan}) == len(plan)


def test_baseline_table_answers_every_query_like_the_store(
    fill_store: Callable[[list[dict[str, Any]]], int], data_dir: Path
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        make_event("user.account.lock", start + timedelta(hours=i), actor=f"u{i % 3}@example.com")
        for i in range(12)
    ] + [
        make_event(
            "application.provision.user.push",
            start + timedelta(hours=i),
            result="FAILURE",
            app="Slack" if i % 2 else "Box",
            user="jo@example.com",
        )
        for i in range(5)
    ]
    fill_store(events)
    built = BuiltStore(data_dir, len(events), start, start + timedelta(days=30), {})
    params = {"start": built.start, "end": built.end}
    store = okta_alerts.connect(data_dir)
    table, where = baseline_connection(store, built)
    try:
        assert where == "memory"
        answers = {name: time_query(store, sql, params, runs=1)[1] for name, sql in QUERIES.items()}
        for name, sql in QUERIES.items():
            assert time_query(table, sql, params, runs=1)[1] == answers[name], name
    finally:
        store.close()
        table.close()
    assert answers["total_events"] == [(17,)]
    assert answers["top10_locked_users"][0] == ("u0@example.com", 4)
    assert len(answers["hourly_lockouts_30d"]) == 30 * 24
    assert answers["assignment_errors_by_app"] == [("Box", 3), ("Slack", 2)]


def test_analysis_bench_times_every_window_query(
    fill_store: Callable[[list[dict[str, Any]]], int], data_dir: Path
) -> None:
    from bench.analysis import analysis_summary, time_call
    from okta_alerts import analysis
    from okta_alerts.analysis.windows import make_window

    start = datetime(2026, 11, 1, tzinfo=UTC)
    fill_store(
        [
            make_event("user.account.lock", start + timedelta(hours=i), actor=f"u{i % 3}@x.com")
            for i in range(12)
        ]
    )
    window = make_window(start + timedelta(days=1), 24, 14)
    con = okta_alerts.connect(data_dir)
    try:
        timed = {
            n: time_call(getattr(analysis, n), con, window, 1) for n in analysis.WINDOW_QUERIES
        }
    finally:
        con.close()
    assert timed["lockouts_by_hour"]["rows"] == 24
    assert timed["lockout_summary"]["rows"] is None
    notebook = {"median_s": 3.0, "ratio_to_floor": 1.5, "meets_target": True}
    scale = {
        "events": 12,
        "window": [window.start.isoformat(), window.end.isoformat()],
        "baseline_days": 14,
        "queries": timed,
        "notebooks": {
            "floor": {"median_s": 2.0},
            "lockouts": notebook,
            "assignment_errors": notebook,
        },
    }
    text = analysis_summary({"scales": [scale]})
    assert "lockouts_by_hour" in text and "1.5x floor" in text


def test_soak_summary_puts_slices_memory_hostile_answers_and_durability_together() -> None:
    slices = [
        LoadResult(30.0, 101, 100, 0, {}, {"p50": 0.005, "p99": 0.02, "max": 0.04}),
        LoadResult(30.0, 100, 100, 0, {"timeout": 1}, {"p50": 0.006, "p99": 0.09, "max": 0.2}),
    ]
    hostile = Hostile()
    hostile.note("stalled", b"HTTP/1.1 408 Request Timeout\r\n")
    hostile.note("oversized", b"")
    rss = [(float(t), 100.0 + t / 10) for t in range(0, 60, 2)]
    body = soak_summarize(slices, rss, hostile, {"header_timeout": 1.0}, (200 * 50, 200 * 50))
    assert [s["p99_ms"] for s in body["slices"]] == [20.0, 90.0]
    assert body["p99_ms_worst_slice"] == 90.0 and body["within_okta_timeout"]
    assert body["hostile_answers"] == {"oversized:closed": 1, "stalled:408": 1}
    assert body["stored_ok"] and body["stored_exact"]
    assert body["socket_errors"] == {"timeout": 1}
    assert body["rss_mb"]["max"] == pytest.approx(105.8)
    assert "stored once: yes" in soak_summary(body)


@pytest.mark.slow
def test_storage_footprint_compacts_and_measures_the_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    events = [make_event(published=datetime.now(UTC) - timedelta(hours=1)) for _ in range(40)]
    write_batches(make_settings(data_dir), [Batch("d", events)])
    footprint = storage_footprint(data_dir, tmp_path)
    assert footprint["events_after_compact"] == 40 and footprint["parts"] == 1
    assert footprint["bytes_per_event"] > 0 and footprint["compact_events_per_s"] > 0


def test_load_summary_reports_each_way_and_the_targets() -> None:
    runs = [
        {"target": target, "repeat": 0, "seconds": seconds, "events_per_s": 1000 // seconds,
         "peak_rss_mb": rss, "bytes_per_event": size, "stored_ok": True}
        for target, seconds, rss, size in (("duckdb", 2, 500.0, 30.0), ("ingest", 5, 350.0, 200.0),
                                           ("backlog", 4, 330.0, 201.0))
    ]  # fmt: skip
    body = summarize_load(runs, events=1000, ndjson_bytes=2_000_000)
    assert body["ratio_ingest_to_duckdb"] == 2.5 and body["writer_peak_rss_mb"] == 350.0
    assert not body["targets"]["ratio_ingest_to_duckdb"]["met"]
    assert body["targets"]["writer_peak_rss_mb"]["met"]
    text = load_summary(body)
    assert "okta-alerts ingest" in text and "ratio_ingest_to_duckdb 2.5 (<= 2.0: MISSED)" in text
