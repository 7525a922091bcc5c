"""``okta-alerts run``: receiver + scheduler as one job, fed over HTTP, stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from okta_alerts import connect
from okta_alerts.sim.hookclient import post_deliveries
from okta_alerts.sim.simulate import batch_deliveries, generate_events
from tests.support.ports import free_port
from tests.support.receiver_process import descendants

SECRET = "run-test-secret-0123456789"


def run_env(data_dir: Path, schedule: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    env.update(
        OKTA_ALERTS_DATA_DIR=str(data_dir),
        OKTA_ALERTS_AUTH_SECRET=SECRET,
        OKTA_ALERTS_SCHEDULE=str(schedule),
        OKTA_ALERTS_SEAL_SECONDS="0.5",
    )
    return env


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[object]:
    """Start ``okta-alerts run``; at teardown kill it and every process it started."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        data_dir: Path, port: int, schedule_text: str = "jobs: []\n"
    ) -> subprocess.Popen[bytes]:
        schedule = tmp_path / "schedule.yaml"
        schedule.write_text(schedule_text)
        log = open(tmp_path / "run.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            [sys.executable, "-m", "okta_alerts", "run", "--port", str(port)],
            env=run_env(data_dir, schedule), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        family = descendants(process.pid)
        for pid in [process.pid, *family]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the receiver did not answer in 30 s:\n{log.read_text()}")


def wait_scheduling(process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the scheduler has started (and handles SIGTERM): a signal during its imports, on a
    busy machine, would stop it before it can stop cleanly."""
    deadline = time.monotonic() + 60
    while "Scheduler:" not in log.read_text(errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@pytest.mark.slow
def test_run_receives_over_http_and_stops_cleanly_on_sigterm(
    data_dir: Path, tmp_path: Path, start_run: object
) -> None:
    port = free_port()
    process = start_run(data_dir, port)  # type: ignore[operator]
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, tmp_path / "run.log")
    assert len(descendants(process.pid)) >= 2  # the receiver and the scheduler

    end = datetime.now(UTC).replace(microsecond=0)
    events = list(
        generate_events(11, end - timedelta(hours=2), end, ("lockout-storm",), 300.0, 200)
    )
    envelopes = list(batch_deliveries(events, seed=11, max_batch=50, duplicate_rate=0.1))
    result = post_deliveries(url + "/hooks/okta", envelopes, {"Authorization": SECRET})
    assert result.rejected == 0 and result.acknowledged == result.sent, result.summary()

    wait_scheduling(process, tmp_path / "run.log")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0, (tmp_path / "run.log").read_text()
    assert descendants(process.pid) == []
    con = connect(data_dir)
    stored = {row[0] for row in con.execute("SELECT uuid FROM events").fetchall()}
    assert stored == {e["uuid"] for e in events}
    assert con.execute("SELECT count(*) FROM events").fetchone() == (len(stored),)


@pytest.mark.slow
def test_run_stops_everything_when_a_child_dies(
    data_dir: Path, tmp_path: Path, start_run: object
) -> None:
    with socket.socket() as taken:  # the receiver cannot listen: it exits at once
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start_run(data_dir, taken.getsockname()[1])  # type: ignore[operator]
        code = process.wait(timeout=60)
    output = (tmp_path / "run.log").read_text()
    assert code != 0 and "the receiver stopped on its own" in output, output
