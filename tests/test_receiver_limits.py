"""Bounded before authentication, against the real receiver process: oversized heads get 431
without being read, stalled requests and idle connections are closed on time, connections past
the cap get 503, memory stays flat, and real deliveries keep getting 200 within Okta's 3 s while
hostile connections are open."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson
import pytest

import okta_alerts
from tests.support.deliveries import HEADERS, deliveries
from tests.support.ports import free_port
from tests.support.receiver_process import Receiver, running_receiver

pytestmark = pytest.mark.slow

TIGHT = {
    "header_timeout_seconds": "1",
    "body_timeout_seconds": "1",
    "keepalive_seconds": "1",
    "max_connections": "40",
}


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """A receiver with the default limits."""
    root = tmp_path_factory.mktemp("limits")
    with running_receiver(root / "data", free_port(), root / "serve.log") as running:
        yield running


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """A receiver with 1-second deadlines and at most 40 connections."""
    root = tmp_path_factory.mktemp("tight")
    with running_receiver(root / "data", free_port(), root / "serve.log", **TIGHT) as running:
        yield running


def address(receiver: Receiver) -> tuple[str, int]:
    host, port = receiver.url.removeprefix("http://").split(":")
    return host, int(port)


def connect(receiver: Receiver, timeout: float = 10) -> socket.socket:
    return socket.create_connection(address(receiver), timeout=timeout)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def answer_of(sock: socket.socket) -> tuple[int, bytes, float]:
    """(status, JSON body, seconds) of the one answer on ``sock``; the server then closes."""
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body, time.monotonic() - started


def stream_head(sock: socket.socket, megabytes: int) -> threading.Thread:
    """Send a header line of ``megabytes`` MB in the background (until the server closes)."""

    def send() -> None:
        try:
            sock.sendall(b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nX-Big: ")
            for _ in range(megabytes * 16):
                sock.sendall(b"a" * 65536)
        except OSError:
            pass  # refused and closed, as it should

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_a_huge_head_is_431_at_once_and_memory_stays_flat(receiver: Receiver) -> None:
    before = rss_kib(receiver.process.pid)
    for _ in range(5):
        with connect(receiver) as sock:
            sender = stream_head(sock, megabytes=100)
            status, body, seconds = answer_of(sock)
            sender.join(10)
        assert status == 431, body
        assert orjson.loads(body)["error"] == "headers_too_large"
        assert "OKTA_ALERTS_MAX_HEADER_BYTES" in orjson.loads(body)["detail"]
        assert seconds < 2
    grown = rss_kib(receiver.process.pid) - before
    assert grown < 20_000, f"the receiver grew by {grown} KiB"
    assert httpx.get(receiver.url + "/healthz").status_code == 200


def test_many_headers_over_the_limit_in_one_write_are_431(receiver: Receiver) -> None:
    headers = "".join(f"X-H{i}: {'b' * 900}\r\n" for i in range(80))  # 72 KB, one write
    with connect(receiver) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        assert answer_of(sock)[0] == 431


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (b"", "header_timeout"),
        (b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthoriz", "header_timeout"),
        (
            b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\nAuthorization: {secret}\r\n\r\n" + b'{"data": {"ev',
            "body_timeout",
        ),
    ],
    ids=["silent", "stalled-head", "stalled-body"],
)
def test_a_stalled_request_is_answered_408_and_closed_within_its_deadline(
    tight: Receiver, sent: bytes, reason: str
) -> None:
    from tests.support.receiver_process import SECRET

    with connect(tight) as sock:
        sock.sendall(sent.replace(b"{secret}", SECRET.encode()))
        status, body, seconds = answer_of(sock)
    assert status == 408, body
    assert orjson.loads(body)["error"] == reason
    assert 0.8 < seconds < 3


def test_an_idle_kept_alive_connection_is_closed(tight: Receiver) -> None:
    with connect(tight) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server
        assert time.monotonic() - started < 3


def test_garbage_is_400_in_json(tight: Receiver) -> None:
    with connect(tight) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        status, body, _ = answer_of(sock)
    assert status == 400
    assert orjson.loads(body)["error"] == "invalid_http"


def test_connections_past_the_cap_get_503_and_the_receiver_recovers(tight: Receiver) -> None:
    with ExitStack() as stack:
        idle = [stack.enter_context(connect(tight)) for _ in range(40)]
        time.sleep(0.2)
        with connect(tight) as extra:
            status, body, seconds = answer_of(extra)
        assert status == 503 and seconds < 0.5
        assert orjson.loads(body)["error"] == "too_many_connections"
        assert len(idle) == 40
    time.sleep(1.5)  # the header deadline closes what stays silent
    assert httpx.get(tight.url + "/healthz").status_code == 200
    metrics = httpx.get(tight.url + "/metrics").text
    assert 'okta_alerts_connections_refused_total{reason="too_many_connections"}' in metrics


def hostile(receiver: Receiver, stack: ExitStack) -> list[threading.Thread]:
    """Stalled heads, silent connections, oversized heads and garbage, all at once."""
    threads = []
    for i in range(300):
        sock = stack.enter_context(connect(receiver, timeout=30))
        if i % 3 == 0:
            sock.sendall(b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nContent-Le")
        elif i % 3 == 1:
            sock.sendall(b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n{")
    for _ in range(10):
        threads.append(stream_head(stack.enter_context(connect(receiver)), megabytes=20))
        garbage = stack.enter_context(connect(receiver))
        garbage.sendall(bytes(range(256)) * 64)
    return threads


def test_real_deliveries_get_200_within_3_s_while_hostile_connections_are_open(
    receiver: Receiver,
) -> None:
    items = deliveries(40, 20, f"beside-hostile-{time.monotonic_ns()}")
    timings: list[float] = []

    async def send_all() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            for _, body, _ in items:
                started = time.monotonic()
                answer = await client.post(receiver.hook, content=body, headers=HEADERS)
                assert answer.status_code == 200, answer.text
                timings.append(time.monotonic() - started)

    with ExitStack() as stack:
        threads = hostile(receiver, stack)
        asyncio.run(send_all())
        for thread in threads:
            thread.join(10)
    assert max(timings) < 3, f"slowest delivery took {max(timings):.2f} s"
    expected = {uuid for _, _, uuids in items for uuid in uuids}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        con = okta_alerts.connect(receiver.data_dir)
        rows = con.execute("SELECT uuid FROM events").fetchall()
        con.close()
        if expected <= {u for (u,) in rows}:
            break
        time.sleep(0.3)
    assert expected <= {u for (u,) in rows}
