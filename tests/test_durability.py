"""No loss under kill -9, and readers that never fail while the receiver ingests and compacts."""

from __future__ import annotations

import asyncio
import bisect
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

import okta_alerts
from tests.support.deliveries import HEADERS, assert_whole_deliveries, deliveries, send_all
from tests.support.ports import free_port
from tests.support.receiver_process import running_receiver, start_receiver, stop_receiver

pytestmark = pytest.mark.slow


def test_kill_9_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    items = deliveries(300, 20, "k9")
    log = tmp_path / "serve.log"
    receiver = start_receiver(data, free_port(), log, seal_seconds="30")
    killed = False

    def kill_halfway(acks: int) -> None:
        nonlocal killed
        if acks >= 120 and not killed:
            killed = True
            os.kill(receiver.process.pid, signal.SIGKILL)

    try:
        acked, failures = asyncio.run(send_all(receiver.hook, items, 16, kill_halfway))
    finally:
        stop_receiver(receiver, signal.SIGKILL)
    assert killed and 120 <= len(acked) < 300, (len(acked), failures[:3])
    assert list((data / "events" / "journal").glob("*.ndjson")), "acks were only in the journal"

    restarted = start_receiver(data, free_port(), tmp_path / "serve2.log")
    assert stop_receiver(restarted) == 0
    con = assert_whole_deliveries(data, items, acked)
    assert con.execute("SELECT count(*) - count(DISTINCT uuid) FROM events").fetchone() == (0,)


def test_readers_never_fail_while_the_receiver_ingests_and_compacts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seal_seconds = 0.5
    items = deliveries(240, 25, "rd")
    expected = 240 * 25
    out = tmp_path / "reader.json"
    with running_receiver(
        data,
        free_port(),
        tmp_path / "serve.log",
        seal_seconds=str(seal_seconds),
        compact_seconds="1",
        grace_seconds="2",
    ) as receiver:
        reader = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.reader_loop",
                str(data),
                str(expected),
                "60",
                str(out),
            ],
            cwd=Path(__file__).parent.parent,
        )
        try:
            started = time.time()
            acked, failures = asyncio.run(send_all(receiver.hook, items, 4, pace=0.1))
            reader.wait(70)
        finally:
            if reader.poll() is None:
                reader.kill()
        compactions = (data / "events" / "parts").rglob("*.parquet")
        assert list(compactions), "the receiver compacted during the test"
    assert failures == []
    assert len(acked) == 240
    assert time.time() - started > 5, "ingest ran long enough for several compactions"
    result = orjson.loads(out.read_bytes())
    assert result["errors"] == []
    samples = result["samples"]
    assert samples[-1][1] == expected, "every event arrived"
    ack_times = sorted(acked.values())
    margin = 2.0
    for seen_at, total in samples:
        due = bisect.bisect_right(ack_times, seen_at - seal_seconds - margin) * 25
        assert total >= due, f"at {seen_at - started:.2f}s saw {total}, {due} were due"
        assert total <= len(ack_times) * 25


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs: a disk that really fills up."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_answers_503_and_loses_nothing(tmp_path: Path, tiny_disk: Path) -> None:
    data = tiny_disk / "data"
    items = deliveries(80, 40, "full")
    with running_receiver(data, free_port(), tmp_path / "serve.log", seal_seconds="60") as rx:
        filler = tiny_disk / "filler"
        free = shutil.disk_usage(tiny_disk).free
        filler.write_bytes(b"\0" * (free - 400_000))
        acked: list[str] = []
        refused: tuple[str, bytes, list[str]] | None = None
        for delivery_id, body, uuids in items:
            answer = httpx.post(rx.hook, content=body, headers=HEADERS, timeout=10)
            if answer.status_code == 503:
                assert answer.json()["error"] == "store_unavailable"
                assert "retries" in answer.json()["detail"]
                refused = (delivery_id, body, uuids)
                break
            assert answer.status_code == 200
            acked.append(delivery_id)
        assert refused is not None, "the disk never filled up"
        assert httpx.get(rx.url + "/healthz").status_code == 200
        filler.unlink()
        # Okta retries the refused delivery once: it must be taken now, not seen as a duplicate.
        assert httpx.post(rx.hook, content=refused[1], headers=HEADERS).status_code == 200
        acked.append(refused[0])
    assert rx.process.returncode == 0, rx.output()
    con = okta_alerts.connect(data)
    stored = {u for (u,) in con.execute("SELECT uuid FROM events").fetchall()}
    expected = {u for d, _, uuids in items if d in acked for u in uuids}
    assert stored == expected
