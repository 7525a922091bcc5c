"""Front processes: the same answers as the main process, one writer, clean stops and restarts.

The receiver runs with two fronts on the same port; the kernel spreads new connections over the
processes. Tests that must reach every process find who holds a connection from /proc (the
server side of the socket) instead of any debug switch.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

import okta_alerts
from tests.conftest import free_port
from tests.factories import envelope, make_event
from tests.receiver_process import (
    SECRET,
    Receiver,
    descendants,
    running_receiver,
    start_receiver,
    stop_receiver,
    wait_gone,
)
from tests.test_durability import assert_whole_deliveries, deliveries, send_all

pytestmark = pytest.mark.slow

CUSTOM = {"X-Okta-Org": "acme"}
GOOD = {"Authorization": SECRET, "X-Okta-Org": "acme", "Content-Type": "application/json"}
MAX_BODY = 100_000

Answer = tuple[int, str, bytes]


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    root = tmp_path_factory.mktemp("fronts")
    with running_receiver(
        root / "data",
        free_port(),
        root / "serve.log",
        ["--log-level", "debug"],  # access logs on: the secret must not show there either
        workers="2",
        custom_headers=orjson.dumps(CUSTOM).decode(),
        max_body_bytes=str(MAX_BODY),
    ) as running:
        assert wait_fronts(running, 2)
        yield running


def wait_fronts(receiver: Receiver, count: int, timeout: float = 15) -> list[int]:
    """The receiver's front pids once ``count`` of them run; [] if they do not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fronts = descendants(receiver.process.pid)
        if len(fronts) == count:
            return fronts
        time.sleep(0.1)
    return []


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the loopback TCP connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == server_port and (
                int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return inode
    return None


def holder(receiver: Receiver, conn: http.client.HTTPConnection) -> int | None:
    """The pid of the receiver process that accepted ``conn``."""
    assert conn.sock is not None
    server_port = int(receiver.url.rsplit(":", 1)[1])
    inode = _socket_inode(server_port, conn.sock.getsockname()[1])
    for pid in [receiver.process.pid, *descendants(receiver.process.pid)]:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def ask(
    receiver: Receiver,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[int | None, Answer]:
    """On a fresh connection: (pid of the process that answered, (status, type, body))."""
    host, port = receiver.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/who-accepted")  # a 404 on this connection, so it is accepted
        conn.getresponse().read()
        pid = holder(receiver, conn)
        if body is None and "Content-Length" in headers:  # declared, never sent
            conn.putrequest(method, path)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
        else:
            conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return pid, (answer.status, answer.getheader("content-type", ""), answer.read())
    finally:
        conn.close()


def _without_uuid() -> bytes:
    event = make_event()
    del event["uuid"]
    return orjson.dumps(envelope([event]))


CASES: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
    ("verify", "GET", {**GOOD, "X-Okta-Verification-Challenge": "c-9"}, None, 200),
    ("verify-no-challenge", "GET", GOOD, None, 400),
    ("no-auth", "POST", {"X-Okta-Org": "acme", "Content-Type": "application/json"}, b"{}", 401),
    ("wrong-custom", "POST", {**GOOD, "X-Okta-Org": "evil"}, b"{}", 401),
    ("not-json", "POST", GOOD, b'{"data": {"events": [', 400),
    ("no-uuid", "POST", GOOD, _without_uuid(), 400),
    ("too-large", "POST", {**GOOD, "Content-Length": str(MAX_BODY + 1)}, None, 413),
    ("text-plain", "POST", {**GOOD, "Content-Type": "text/plain"}, b"{}", 415),
    ("not-found", "GET", GOOD, None, 404),
]


@pytest.mark.parametrize(
    ("name", "method", "headers", "body", "status"), CASES, ids=[c[0] for c in CASES]
)
def test_fronts_answer_exactly_like_the_main_process(
    receiver: Receiver,
    name: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
) -> None:
    path = "/nowhere" if name == "not-found" else "/hooks/okta"
    answers: dict[int, set[Answer]] = {}
    for _ in range(300):
        pid, answer = ask(receiver, method, path, headers, body)
        assert pid is not None
        answers.setdefault(pid, set()).add(answer)
        if len(answers) == 3:  # the main process and both fronts
            break
    assert receiver.process.pid in answers and len(answers) == 3, answers.keys()
    distinct = set().union(*answers.values())
    assert len(distinct) == 1, distinct
    got_status, content_type, _ = distinct.pop()
    assert got_status == status
    assert content_type == "application/json"


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_what_the_fronts_handled(receiver: Receiver) -> None:
    names = [
        'okta_alerts_deliveries_total{outcome="accepted"}',
        'okta_alerts_deliveries_total{outcome="unauthorized"}',
        'okta_alerts_deliveries_total{outcome="invalid"}',
        'okta_alerts_deliveries_total{outcome="unsupported_media_type"}',
        'okta_alerts_deliveries_total{outcome="too_large"}',
        'okta_alerts_events_total{outcome="accepted"}',
        "okta_alerts_ack_seconds_count",
    ]

    def counts() -> list[float]:
        _, (status, _, text) = ask(receiver, "GET", "/metrics", {})
        assert status == 200
        return [_metric(text.decode(), name) for name in names]

    before = counts()
    handlers = set()
    rounds = 12
    for _ in range(rounds):
        events = orjson.dumps(envelope([make_event() for _ in range(3)]))
        for headers, body, status in [
            (GOOD, events, 200),
            ({**GOOD, "Authorization": "nope"}, events, 401),
            (GOOD, b"[", 400),
            ({**GOOD, "Content-Type": "text/plain"}, events, 415),
            ({**GOOD, "Content-Length": str(MAX_BODY + 1)}, None, 413),
        ]:
            pid, answer = ask(receiver, "POST", "/hooks/okta", headers, body)
            assert answer[0] == status
            handlers.add(pid)
    assert len(handlers - {receiver.process.pid}) >= 1, "no front handled a delivery"
    after = counts()
    assert [b - a for a, b in zip(before, after, strict=True)] == [
        rounds, rounds, rounds, rounds, rounds, rounds * 3, rounds
    ]  # fmt: skip


def test_concurrent_deliveries_are_all_acknowledged_and_stored_once(receiver: Receiver) -> None:
    items = deliveries(200, 20, f"fronts-{time.monotonic_ns()}")
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


def test_a_killed_front_is_restarted(receiver: Receiver) -> None:
    fronts = wait_fronts(receiver, 2)
    os.kill(fronts[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = descendants(receiver.process.pid)
        if len(now) == 2 and fronts[0] not in now:
            break
        time.sleep(0.1)
    assert fronts[0] not in now and len(now) == 2, receiver.output()[-2000:]
    assert f"front process {fronts[0]} exited unexpectedly with code -9" in receiver.output()
    answers = {ask(receiver, "GET", "/healthz", {})[1][0] for _ in range(20)}
    assert answers == {200}


def test_the_secret_never_reaches_logs_command_lines_or_environments(receiver: Receiver) -> None:
    for _ in range(10):
        ask(receiver, "POST", "/hooks/okta", GOOD, orjson.dumps(envelope([make_event()])))
        ask(receiver, "POST", "/hooks/okta", {**GOOD, "Authorization": "x"}, b"{}")
    output = receiver.output()
    assert "POST /hooks/okta HTTP/1.1" in output  # the access log was on
    for pid in descendants(receiver.process.pid):
        for part in ("cmdline", "environ"):
            assert SECRET.encode() not in Path(f"/proc/{pid}/{part}").read_bytes()
    assert SECRET not in output
    assert "acme" not in output


def test_sigterm_finishes_in_flight_deliveries_and_leaves_no_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    receiver = start_receiver(data, free_port(), tmp_path / "serve.log", workers="2")
    fronts = wait_fronts(receiver, 2)
    assert fronts
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
    assert wait_gone(fronts, timeout=1) == []
    assert descendants(receiver.process.pid) == []
    assert len(acked) >= 100
    assert_whole_deliveries(data, items, acked)


def test_a_crash_looping_front_is_left_down(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A front that cannot start (here: a log level it refuses) is not restarted forever."""
    from receiver import fronts as module
    from receiver.front import FrontConfig

    monkeypatch.setattr(module, "RESTART_DELAY", 0.05)
    config = FrontConfig("Authorization", SECRET, {}, False, 1000, "no-such-level")

    async def link(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async def crash_loop() -> None:
        listens = module.listen_sockets("127.0.0.1", 0, 2)
        fronts = module.Fronts([listens[1:]], config)
        await fronts.start(link)
        deadline = time.monotonic() + 60
        while "not restarted again" not in caplog.text and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await fronts.stop()
        listens[0].close()

    asyncio.run(crash_loop())
    assert "not restarted again" in caplog.text
    assert caplog.text.count("exited unexpectedly with code 1") == module.MAX_RESTARTS - 1


def test_a_second_receiver_on_the_port_is_refused_not_shared(
    receiver: Receiver, tmp_path: Path
) -> None:
    """SO_REUSEPORT spreads connections over our own processes only: another receiver on the
    same port gets "address in use" (after a few seconds of retrying), not half the traffic."""
    import subprocess
    import sys

    from tests.receiver_process import receiver_env

    port = receiver.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "okta_alerts", "serve", "--port", port],
        env=receiver_env(tmp_path / "other", workers="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"could not listen on 127.0.0.1:{port} (Address already in use)" in done.stderr
    assert "Traceback" not in done.stderr
