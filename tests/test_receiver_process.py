"""The real receiver process (uvicorn, loopback): concurrency, clean stops, port, secret."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

import okta_alerts
from tests.support.deliveries import assert_whole_deliveries, deliveries, send_all
from tests.support.factories import envelope, make_event
from tests.support.ports import free_port
from tests.support.receiver_process import (
    SECRET,
    Receiver,
    receiver_env,
    running_receiver,
    start_receiver,
    stop_receiver,
)

pytestmark = pytest.mark.slow

GOOD = {"Authorization": SECRET, "X-Okta-Org": "acme", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    root = tmp_path_factory.mktemp("receiver")
    with running_receiver(
        root / "data",
        free_port(),
        root / "serve.log",
        ["--log-level", "debug"],  # access logs on: the secret must not show there either
        custom_headers=orjson.dumps({"X-Okta-Org": "acme"}).decode(),
    ) as running:
        yield running


def test_concurrent_deliveries_are_all_acknowledged_and_stored_once(receiver: Receiver) -> None:
    items = deliveries(200, 20, f"many-{time.monotonic_ns()}")
    acked, failures = asyncio.run(send_all(receiver.hook, items, 24, headers=GOOD))
    assert failures == [] and len(acked) == 200
    expected = {uuid for _, _, uuids in items for uuid in uuids}
    tag = items[0][0].rsplit("-", 1)[0]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        con = okta_alerts.connect(receiver.data_dir)
        rows = con.execute(
            "SELECT count(*), count(DISTINCT uuid) FROM events WHERE starts_with(uuid, ?)",
            [tag + "-"],
        ).fetchone()
        if rows == (len(expected), len(expected)):
            break
        time.sleep(0.3)
    assert rows == (len(expected), len(expected))


def test_the_secret_never_reaches_the_logs(receiver: Receiver) -> None:
    body = orjson.dumps(envelope([make_event()]))
    for _ in range(10):
        httpx.post(receiver.hook, content=body, headers=GOOD)
        httpx.post(receiver.hook, content=b"{}", headers={**GOOD, "Authorization": "x"})
    output = receiver.output()
    assert "POST /hooks/okta HTTP/1.1" in output  # the access log was on
    assert SECRET not in output
    assert "acme" not in output


def test_sigterm_finishes_in_flight_deliveries_and_exits_0(tmp_path: Path) -> None:
    data = tmp_path / "data"
    receiver = start_receiver(data, free_port(), tmp_path / "serve.log")
    items = deliveries(1000, 20, "term")
    acked: dict[str, float] = {}
    busy = threading.Event()

    def send() -> None:
        on_ack = lambda count: count >= 100 and busy.set()  # noqa: E731
        acked.update(asyncio.run(send_all(receiver.hook, items, 16, on_ack))[0])

    sender = threading.Thread(target=send)
    sender.start()
    assert busy.wait(30), receiver.output()[-3000:]
    code = stop_receiver(receiver, signal.SIGTERM, timeout=30)
    sender.join(60)
    assert code == 0, receiver.output()[-3000:]
    assert len(acked) >= 100
    assert_whole_deliveries(data, items, acked)


def test_a_second_receiver_on_the_port_is_refused(receiver: Receiver, tmp_path: Path) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "okta_alerts", "serve", "--port", port],
        env=receiver_env(tmp_path / "other"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"could not listen on 127.0.0.1:{port} (Address already in use)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_100_mb_body_is_refused_before_it_is_read(receiver: Receiver) -> None:
    """Declare 100 MB, send 64 KB: the answer must come without the rest of the body."""
    host, port = receiver.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = (
            f"POST /hooks/okta HTTP/1.1\r\nHost: {host}\r\nAuthorization: {SECRET}\r\n"
            f"X-Okta-Org: acme\r\nContent-Type: application/json\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"[" * 65536)
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert httpx.get(receiver.url + "/healthz").json()["status"] == "ok"


def test_receiver_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = receiver_env(tmp_path / "data")
    del env["OKTA_ALERTS_AUTH_SECRET"]
    done = subprocess.run(
        [sys.executable, "-m", "okta_alerts", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "OKTA_ALERTS_AUTH_SECRET is not set" in done.stderr
    assert "Traceback" not in done.stderr
