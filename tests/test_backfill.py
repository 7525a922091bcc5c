"""Backfill and polling from the fake Okta into a real store, alone or through a real receiver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

import okta_alerts
from okta_alerts.cli import main
from okta_alerts.config import Settings, default_poll_event_types
from okta_alerts.errors import BackfillError
from okta_alerts.okta.delivery import Batch
from okta_alerts.okta.eventtypes import HOOK_ELIGIBLE
from okta_alerts.store.writer import write_batches
from okta_alerts.systemlog.backfill import run_backfill
from okta_alerts.systemlog.client import SystemLogClient
from okta_alerts.systemlog.cursors import BACKFILL_FILE, POLL_FILE
from okta_alerts.systemlog.poller import poll_once, run_poller
from tests.support.factories import envelope
from tests.support.fake_okta import TOKEN, FakeOkta, sample_events
from tests.support.ports import free_port
from tests.support.receiver_process import SECRET, running_receiver, start_receiver, stop_receiver
from tests.support.settings import make_settings

NOW = datetime.now(UTC)
SINCE, UNTIL = NOW - timedelta(days=1), NOW
POLLED = default_poll_event_types()


@pytest.fixture
def okta(request: pytest.FixtureRequest) -> Iterator[FakeOkta]:
    options: dict[str, Any] = {"page_size": 100, **getattr(request, "param", {})}
    events = options.pop("events", None) or sample_events(options.pop("count", 400), NOW)
    fake = FakeOkta(events, **options).start()
    yield fake
    fake.stop()


def okta_settings(data_dir: Path, fake: FakeOkta, **overrides: Any) -> Settings:
    values = {"okta_org_url": fake.url, "okta_api_token": TOKEN, "poll_lag_seconds": 0}
    values["grace_seconds"] = 60  # readers run while the poller's writer compacts
    return make_settings(data_dir, **(values | overrides))


def fast_client(fake: FakeOkta, **options: Any) -> SystemLogClient:
    return SystemLogClient(fake.url, TOKEN, backoff_initial=0.05, backoff_max=0.2, **options)


def stored(data_dir: Path, sql: str = "SELECT uuid FROM events") -> list[Any]:
    con = okta_alerts.connect(data_dir)
    try:
        return [row[0] if len(row) == 1 else row for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def polled(event: dict[str, Any]) -> bool:
    """Whether the default POLL_EVENT_TYPES (``family*`` included) fetch ``event``."""
    kind = event["eventType"]
    return any(kind == t or (t.endswith("*") and kind.startswith(t[:-1])) for t in POLLED)


def first_pages(fake: FakeOkta) -> int:
    """Requests that asked for a query's first page (no cursor)."""
    return sum(1 for r in fake.requests if r.status == 200 and "after" not in r.params)


# -- backfill ---------------------------------------------------------------------------------


@pytest.mark.parametrize("okta", [{"fail_every": 4, "throttle_every": 7}], indirect=True)
def test_full_backfill_stores_exactly_the_set(data_dir: Path, okta: FakeOkta) -> None:
    settings = okta_settings(data_dir, okta)
    with fast_client(okta) as client:
        result = run_backfill(settings, SINCE, UNTIL, client=client)
    expected = okta.matching(SINCE, UNTIL, POLLED)
    assert result.done and result.events == len(expected) == 320
    uuids = stored(data_dir)
    assert len(uuids) == len(expected) and set(uuids) == expected
    sources = stored(data_dir, "SELECT DISTINCT split_part(delivery_id, ':', 2) FROM events")
    assert sources == ["backfill"]
    state = orjson.loads((data_dir / BACKFILL_FILE).read_bytes())
    assert state["done"] and state["events"] == len(expected)
    with fast_client(okta) as client:
        again = run_backfill(settings, SINCE, UNTIL, client=client)
    assert again.done and not again.resumed
    assert len(stored(data_dir)) == len(expected), "a second run stores no duplicates"


def test_a_stopped_backfill_resumes_where_it_stopped(data_dir: Path, okta: FakeOkta) -> None:
    # No reader runs during the writes here: with no grace period, a file the second writer
    # session wrongly retires would be gone at once (store sequence numbers must never repeat).
    settings = okta_settings(data_dir, okta, grace_seconds=0)
    args = {"since": "1d", "until": None}
    with fast_client(okta) as client:
        first = run_backfill(settings, SINCE, UNTIL, args=args, client=client, max_pages=2)
    assert not first.done and first.pages == 2
    assert len(stored(data_dir)) == 200, "what was fetched is stored and visible"
    later = SINCE + timedelta(hours=1)  # `1d` means something else an hour later: ignored
    with fast_client(okta) as client:
        second = run_backfill(settings, later, None, args=args, client=client)
    assert second.resumed and second.done and second.pages == 4
    assert (second.since, second.until) == (first.since, first.until)
    expected = okta.matching(SINCE, UNTIL, POLLED)
    assert sorted(stored(data_dir)) == sorted(expected)
    assert first_pages(okta) == 1, "the second run continued from the saved cursor"
    assert len(okta.requests) == 4


def test_another_backfill_waits_for_the_unfinished_one_or_restart(
    data_dir: Path, okta: FakeOkta
) -> None:
    settings = okta_settings(data_dir, okta)
    with fast_client(okta) as client:
        run_backfill(settings, SINCE, UNTIL, args={"since": "1d"}, client=client, max_pages=1)
        with pytest.raises(BackfillError, match=r"unfinished backfill .*--since 1d.*--restart"):
            run_backfill(settings, SINCE, UNTIL, args={"since": "2d"}, client=client)
        fresh = run_backfill(
            settings, SINCE, UNTIL, args={"since": "2d"}, client=client, restart=True
        )
    assert fresh.done and not fresh.resumed and fresh.pages == 4
    assert len(stored(data_dir)) == 320


def test_events_the_hook_delivered_are_not_duplicated(data_dir: Path, okta: FakeOkta) -> None:
    settings = okta_settings(data_dir, okta)
    hooked = [e for _, e in okta.log if e["eventType"] == "user.account.lock"][:30]
    write_batches(settings, [Batch("hook-delivery-1", hooked)])
    with fast_client(okta) as client:
        run_backfill(settings, SINCE, UNTIL, client=client)
    uuids = stored(data_dir)
    assert len(uuids) == len(set(uuids)) == 320
    kept = stored(data_dir, "SELECT count(*) FROM events WHERE delivery_id = 'hook-delivery-1'")
    assert kept == [30], "the hook's copies were kept, the System Log's dropped"


@pytest.mark.slow
@pytest.mark.parametrize("okta", [{"page_size": 20, "delay": 0.05}], indirect=True)
def test_a_killed_backfill_process_reruns_to_exactly_the_set(
    tmp_path: Path, data_dir: Path, okta: FakeOkta
) -> None:
    token_file = tmp_path / "okta-token"
    token_file.write_text(TOKEN + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    env.update(
        OKTA_ALERTS_DATA_DIR=str(data_dir),
        OKTA_ALERTS_OKTA_ORG_URL=okta.url,
        OKTA_ALERTS_POLL_LAG_SECONDS="0",
    )
    command = [sys.executable, "-m", "okta_alerts", "backfill", "--since", "2d"]
    command += ["--token-file", str(token_file), "--no-progress"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = data_dir / BACKFILL_FILE
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and first.poll() is None:
            if state.exists() and orjson.loads(state.read_bytes())["pages"] >= 4:
                break
            time.sleep(0.02)
        assert first.poll() is None, "the backfill ended before it could be killed"
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        killed_output = first.communicate(timeout=10)[0].decode()
    pages_before = orjson.loads(state.read_bytes())["pages"]
    assert 4 <= pages_before < 16
    rerun = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    output = rerun.stdout.decode() + rerun.stderr.decode()
    assert rerun.returncode == 0, output
    assert "complete" in output and "(resumed)" in output
    expected = okta.matching(NOW - timedelta(days=2), NOW, POLLED)
    uuids = stored(data_dir)
    assert len(uuids) == len(expected) == 320 and set(uuids) == expected
    assert first_pages(okta) == 1
    assert TOKEN not in output + killed_output


def test_cli_errors_are_one_line_without_the_token(
    tmp_path: Path, data_dir: Path, okta: FakeOkta
) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("00not-the-right-token-7777777777")
    env = {"OKTA_ALERTS_OKTA_ORG_URL": okta.url}
    result = CliRunner().invoke(
        main,
        ["backfill", "--since", "1d", "--token-file", str(wrong), "--data-dir", str(data_dir)],
        env=env,
    )
    assert result.exit_code == 5
    assert result.output.startswith("Error: Okta's System Log API answered HTTP 401")
    assert "Traceback" not in result.output and "7777777777" not in result.output
    old = CliRunner().invoke(
        main,
        ["backfill", "--since", "200d", "--token-file", str(wrong), "--data-dir", str(data_dir)],
        env=env,
    )
    assert old.exit_code == 5 and "more than 180 days ago" in old.output
    missing = CliRunner().invoke(
        main, ["backfill", "--since", "1d", "--data-dir", str(data_dir)], env={}
    )
    assert missing.exit_code == 2 and "OKTA_ALERTS_OKTA_ORG_URL" in missing.output


# -- polling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "okta",
    [{"events": sample_events(60, NOW - timedelta(minutes=5), timedelta(seconds=45))}],
    indirect=True,
)
def test_polling_picks_up_new_events_and_survives_restarts(data_dir: Path, okta: FakeOkta) -> None:
    settings = okta_settings(data_dir, okta)
    with fast_client(okta) as client:
        first = poll_once(settings, client)
    initial = {e["uuid"] for _, e in okta.log if polled(e)}
    assert first.events == len(initial) == 48
    assert set(stored(data_dir)) == initial
    added = sample_events(10, datetime.now(UTC) - timedelta(seconds=5), timedelta(seconds=1))
    okta.add(added)
    with fast_client(okta) as client:  # a new process: only the cursor file carries over
        second = poll_once(settings, client)
        third = poll_once(settings, client)
    new = {e["uuid"] for e in added if polled(e)}
    assert (second.events, third.events) == (len(new), 0)
    uuids = stored(data_dir)
    assert len(uuids) == len(initial | new) and set(uuids) == initial | new
    assert first_pages(okta) == 1, "later polls follow the saved polling cursor"
    assert all("until" not in r.params for r in okta.requests), "Okta's polling mode"


@pytest.mark.parametrize(
    "okta",
    [{"events": sample_events(20, NOW - timedelta(minutes=2), timedelta(minutes=2))}],
    indirect=True,
)
def test_the_poller_lags_so_the_hook_goes_first(data_dir: Path, okta: FakeOkta) -> None:
    """Events younger than poll_lag_seconds wait for a later poll; none is stored twice."""
    settings = okta_settings(data_dir, okta, poll_lag_seconds=600)
    fetched = [e for _, e in okta.log if polled(e)]
    old = {e["uuid"] for e in fetched if e["published"] <= _iso(NOW - timedelta(minutes=10))}
    with fast_client(okta) as client:
        early = poll_once(settings, client, now=NOW)
        assert early.events == len(old) and early.held_back == len(fetched) - len(old) > 0
        assert set(stored(data_dir)) == old
        cursor = orjson.loads((data_dir / POLL_FILE).read_bytes())
        assert sorted(cursor["seen"]) == sorted(old), "the page waits, its stored uuids are known"
        same = poll_once(settings, client, now=NOW + timedelta(seconds=5))
        late = poll_once(settings, client, now=NOW + timedelta(minutes=11))
        after = poll_once(settings, client, now=NOW + timedelta(minutes=12))
    assert same.events == 0 and late.events == len(fetched) - len(old) and after.events == 0
    assert sorted(stored(data_dir)) == sorted(e["uuid"] for e in fetched)
    assert orjson.loads((data_dir / POLL_FILE).read_bytes())["seen"] == []


@pytest.mark.parametrize(
    "okta",
    [{"events": sample_events(10, NOW - timedelta(minutes=1), timedelta(seconds=30))}],
    indirect=True,
)
def test_run_poller_polls_until_stopped(data_dir: Path, okta: FakeOkta) -> None:
    settings = okta_settings(data_dir, okta, poll_seconds=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=run_poller, args=(settings, stop), daemon=True)
    thread.start()
    try:
        _wait_for(lambda: len(stored(data_dir)) == 8)
        okta.add(sample_events(5, datetime.now(UTC), timedelta(seconds=1)))
        _wait_for(lambda: len(stored(data_dir)) == 12)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_poll_once_command(data_dir: Path, okta: FakeOkta) -> None:
    env = {
        "OKTA_ALERTS_OKTA_ORG_URL": okta.url,
        "OKTA_ALERTS_OKTA_API_TOKEN": TOKEN,
        "OKTA_ALERTS_POLL_LAG_SECONDS": "0",
    }
    result = CliRunner().invoke(main, ["poll", "--once", "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 0, result.output
    count = len(stored(data_dir))
    assert 0 < count < 320, "a first poll starts an hour back; older history is for backfill"
    assert f"polled 1 page(s): {count} new events stored" in result.output
    status = CliRunner().invoke(main, ["status", "--json", "--data-dir", str(data_dir)], env={})
    body = orjson.loads(status.output)
    assert body["hook_gaps_last_24h"] == 0, "no hook delivered anything: no gaps to count"
    assert f"{count} events stored" in body["system_log_poll"]
    assert body["system_log_backfill"] == "none run"
    assert TOKEN not in result.output + status.output


# -- hand-off to a running receiver and hook-delivery health ------------------------------------


@pytest.mark.slow
def test_hand_off_to_the_receiver_and_hook_gaps_count_exactly_the_missed_events(
    tmp_path: Path, data_dir: Path
) -> None:
    events = sorted(
        sample_events(150, NOW - timedelta(hours=2), timedelta(minutes=1)),
        key=lambda e: e["published"],
    )
    eligible = [e for e in events if e["eventType"] in HOOK_ELIGIBLE]
    before_hook = [e for e in eligible[:3]]  # history from before the hook was set up
    missed = [eligible[i] for i in (10, 11, 12, 40, 77) if polled(eligible[i])]
    skipped = {e["uuid"] for e in before_hook + missed}
    hooked = [e for e in eligible if e["uuid"] not in skipped]
    fake = FakeOkta(events, page_size=50).start()
    port = free_port()
    log = tmp_path / "receiver.log"
    settings = okta_settings(data_dir, fake, auth_secret=SECRET, port=port)
    try:
        with running_receiver(data_dir, port, log) as receiver:
            for start in range(0, len(hooked), 25):
                response = httpx.post(
                    receiver.hook,
                    content=orjson.dumps(envelope(hooked[start : start + 25], f"okta-{start}")),
                    headers={"Authorization": SECRET, "Content-Type": "application/json"},
                )
                assert response.status_code == 200
            with fast_client(fake) as client:
                result = run_backfill(settings, SINCE, UNTIL, client=client)
            assert "running receiver" in result.via
            # Polling through the receiver too: the hook misses one of two new lockouts.
            new = sample_events(2, datetime.now(UTC), timedelta(seconds=1))
            new = [e | {"eventType": "user.account.lock"} for e in new]
            fake.add(new)
            response = httpx.post(
                receiver.hook,
                content=orjson.dumps(envelope(new[:1], "okta-new")),
                headers={"Authorization": SECRET, "Content-Type": "application/json"},
            )
            assert response.status_code == 200
            with fast_client(fake) as client:
                poll_once(settings, client)
                assert poll_once(settings, client, prefer_receiver=True).events == 0
            _wait_for(
                lambda: len(stored(data_dir, "SELECT uuid FROM hook_gaps")) == len(missed) + 1
            )
            gaps = set(stored(data_dir, "SELECT uuid FROM hook_gaps"))
            assert gaps == {e["uuid"] for e in missed} | {new[1]["uuid"]}
            by_hour = stored(data_dir, "SELECT hour, count(*) FROM hook_gaps GROUP BY 1")
            assert sum(n for _, n in by_hour) == len(gaps)
            expected = fake.matching(SINCE, UNTIL, POLLED) | {e["uuid"] for e in hooked + new}
            assert sorted(stored(data_dir)) == sorted(expected), "each event once"
            status = CliRunner().invoke(main, ["status", "--data-dir", str(data_dir)], env={})
            assert f"hook gaps:      {len(gaps)} events in the last 24 h" in status.output
            # `okta-alerts run` starts `poll --via-receiver` next to the receiver.
            limits = sample_events(2, datetime.now(UTC), timedelta(seconds=1))
            fake.add([e | {"eventType": "user.account.lock.limit"} for e in limits])
            output = _poll_process_until(data_dir, fake, len(expected) + 2)
            assert "polling stopped" in output and TOKEN not in output
            assert len(stored(data_dir, "SELECT uuid FROM hook_gaps")) == len(gaps)
        receiver = start_receiver(data_dir, port, log)  # a fresh receiver computes /healthz anew
        try:
            # computed in the background at start, then at most once a minute
            _wait_for(lambda: _health(receiver.url)["hook_gaps_last_24h"] is not None)
            assert _health(receiver.url)["hook_gaps_last_24h"] == len(gaps)
            metrics = httpx.get(receiver.url + "/metrics").text
            assert f"okta_alerts_hook_gaps_last_24h {float(len(gaps))}" in metrics
        finally:
            stop_receiver(receiver)
    finally:
        fake.stop()
    assert TOKEN not in log.read_text() and SECRET not in log.read_text()


def _poll_process_until(data_dir: Path, fake: FakeOkta, count: int) -> str:
    """Run `okta-alerts poll --via-receiver` until ``count`` events are stored; SIGTERM it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    env.update(
        OKTA_ALERTS_DATA_DIR=str(data_dir),
        OKTA_ALERTS_AUTH_SECRET=SECRET,
        OKTA_ALERTS_OKTA_ORG_URL=fake.url,
        OKTA_ALERTS_OKTA_API_TOKEN=TOKEN,
        OKTA_ALERTS_POLL_LAG_SECONDS="0",
    )
    command = [sys.executable, "-m", "okta_alerts", "poll", "--via-receiver", "--every", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: len(stored(data_dir)) == count, timeout=30)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    finally:
        process.kill()
        process.wait(10)
    assert process.returncode == 0, output
    return output


def _health(url: str) -> dict[str, Any]:
    return httpx.get(url + "/healthz").json()


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _wait_for(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
