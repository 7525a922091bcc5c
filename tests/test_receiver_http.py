"""The HTTP contract of /hooks/okta, /healthz and /metrics against a real uvicorn server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import okta_alerts
from tests.conftest import free_port
from tests.factories import envelope, make_event
from tests.receiver_process import SECRET, Receiver, running_receiver

CUSTOM = {"X-Okta-Org": "acme"}
GOOD = {"Authorization": SECRET, "X-Okta-Org": "acme"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    root = tmp_path_factory.mktemp("receiver")
    with running_receiver(
        root / "data",
        free_port(),
        root / "serve.log",
        custom_headers=orjson.dumps(CUSTOM).decode(),
        max_body_bytes="1000000",
    ) as running:
        yield running


def stored(receiver: Receiver, where: str = "true") -> int:
    time.sleep(0.9)  # SEAL_SECONDS is 0.5 in these tests
    con = okta_alerts.connect(receiver.data_dir)
    return con.execute(f"SELECT count(*) FROM events WHERE {where}").fetchone()[0]  # type: ignore[index]


def post(receiver: Receiver, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(receiver.hook, content=data, headers=headers or {**GOOD, **JSON}, timeout=10)


def test_verification_handshake_echoes_the_challenge(receiver: Receiver) -> None:
    answer = httpx.get(receiver.hook, headers={**GOOD, "X-Okta-Verification-Challenge": "c-123"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"verification": "c-123"}


def test_verification_without_challenge_is_400(receiver: Receiver) -> None:
    answer = httpx.get(receiver.hook, headers=GOOD)
    assert answer.status_code == 400
    assert answer.json()["error"] == "missing_challenge"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-Okta-Org": "acme"}, "Authorization"),
        ({"Authorization": "wrong", "X-Okta-Org": "acme"}, "Authorization"),
        ({"Authorization": SECRET.upper(), "X-Okta-Org": "acme"}, "Authorization"),
        ({"Authorization": SECRET}, "X-Okta-Org"),
        ({"Authorization": SECRET, "X-Okta-Org": "evil"}, "X-Okta-Org"),
    ],
    ids=["no-auth", "wrong-auth", "case-changed", "no-custom", "wrong-custom"],
)
def test_bad_credentials_are_401_and_store_nothing(
    receiver: Receiver, method: str, headers: dict[str, str], named: str
) -> None:
    event = make_event()
    answer = httpx.request(
        method,
        receiver.hook,
        content=orjson.dumps(envelope([event])),
        headers={**headers, **JSON, "X-Okta-Verification-Challenge": "x"},
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "unauthorized",
        "detail": f"missing or wrong `{named}` header",
    }
    assert SECRET not in answer.text
    assert stored(receiver, f"uuid = '{event['uuid']}'") == 0


def _without(key: str) -> dict[str, Any]:
    event = make_event()
    del event[key]
    return event


BAD_BODIES: list[tuple[str, bytes | Any, str]] = [
    ("not-json", b'{"data": {"events": [', "invalid_json"),
    ("not-utf8", b"\xff\xfe{}", "invalid_json"),
    (
        "not-utf8-in-an-ignored-field",
        orjson.dumps(envelope([make_event(note="NOTE")])).replace(b"NOTE", b"\xff\xfe"),
        "invalid_json",
    ),
    (
        "not-json-deep",
        b'{"data": {"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}}",
        "invalid_event",
    ),
    ("array", [make_event()], "invalid_envelope"),
    ("string", "hello", "invalid_envelope"),
    ("no-data", {"eventType": "com.okta.event_hook"}, "invalid_envelope"),
    ("data-not-object", {"data": [1]}, "invalid_envelope"),
    ("no-events", {"data": {}}, "invalid_envelope"),
    ("events-not-list", {"data": {"events": {"uuid": "x"}}}, "invalid_envelope"),
    ("event-not-object", envelope([make_event(), "nope"]), "invalid_event"),
    ("event-null", envelope([None]), "invalid_event"),
    ("no-uuid", envelope([make_event(), _without("uuid")]), "invalid_event"),
    ("no-event-type", envelope([_without("eventType")]), "invalid_event"),
    ("no-published", envelope([_without("published")]), "invalid_event"),
    ("uuid-number", envelope([make_event(uuid=123)]), "invalid_event"),  # type: ignore[arg-type]
    ("uuid-empty", envelope([make_event(uuid="")]), "invalid_event"),
    ("uuid-newline", envelope([make_event(uuid="a\nb")]), "invalid_event"),
    ("published-garbage", envelope([make_event(published="yesterday-ish")]), "invalid_event"),
    ("event-type-list", envelope([make_event(event_type=["x"])]), "invalid_event"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("name", "body", "code"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_malformed_deliveries_are_400(receiver: Receiver, name: str, body: Any, code: str) -> None:
    answer = post(receiver, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == code
    assert answer.json()["detail"]


def test_rejected_deliveries_store_nothing(receiver: Receiver) -> None:
    """Every kind of rejection, each carrying valid events; then one good delivery as a fence."""

    def marked(count: int = 3) -> list[dict[str, Any]]:
        return [make_event(uuid=f"rejected-{i}-{time.monotonic_ns()}") for i in range(count)]

    attempts = [
        (orjson.dumps(envelope(marked())), {"X-Okta-Org": "acme", **JSON}, 401),
        (orjson.dumps(envelope(marked())), {**GOOD, "Content-Type": "text/plain"}, 415),
        (orjson.dumps(envelope([*marked(), "nope"])), {**GOOD, **JSON}, 400),
        (orjson.dumps(envelope([*marked(), _without("uuid")])), {**GOOD, **JSON}, 400),
        (orjson.dumps(envelope(marked(60) * 10)), {**GOOD, **JSON}, 413),
    ]
    attempts[-1] = (
        orjson.dumps(
            envelope(
                [make_event(uuid=f"rejected-big-{i}", user_agent="x" * 20_000) for i in range(60)]
            )
        ),
        {**GOOD, **JSON},
        413,
    )
    for body, headers, status in attempts:
        assert post(receiver, body, headers).status_code == status
    fence = make_event()
    assert post(receiver, envelope([fence])).status_code == 200
    assert stored(receiver, f"uuid = '{fence['uuid']}'") == 1
    assert stored(receiver, "starts_with(uuid, 'rejected-')") == 0


def test_non_json_content_type_is_415(receiver: Receiver) -> None:
    answer = post(receiver, envelope([make_event()]), {**GOOD, "Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


def test_body_over_the_limit_is_413(receiver: Receiver) -> None:
    events = [make_event(user_agent="x" * 20_000) for _ in range(60)]
    answer = post(receiver, envelope(events))
    assert answer.status_code == 413
    assert "OKTA_ALERTS_MAX_BODY_BYTES" in answer.json()["detail"]


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
    health = httpx.get(receiver.url + "/healthz").json()
    assert health["status"] == "ok"


def test_chunked_body_over_the_limit_is_413(receiver: Receiver) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 50_000

    answer = httpx.post(receiver.hook, content=chunks(), headers={**GOOD, **JSON})
    assert answer.status_code == 413


def test_accepted_delivery_is_200_empty_and_stored(receiver: Receiver) -> None:
    events = [make_event("user.account.lock", actor=f"u{i}@example.com") for i in range(5)]
    answer = post(receiver, envelope(events, event_id="delivery-accepted"))
    assert answer.status_code == 200
    assert answer.content == b""
    uuids = ", ".join(f"'{e['uuid']}'" for e in events)
    assert stored(receiver, f"uuid IN ({uuids}) AND delivery_id = 'delivery-accepted'") == 5


def test_charset_and_vendor_json_content_types_are_accepted(receiver: Receiver) -> None:
    for content_type in ("application/json; charset=utf-8", "application/cloudevents+json"):
        answer = post(receiver, envelope([make_event()]), {**GOOD, "Content-Type": content_type})
        assert answer.status_code == 200, content_type


def test_healthz_and_metrics_report_without_secrets(receiver: Receiver) -> None:
    post(receiver, envelope([make_event()]))
    time.sleep(0.9)
    health = httpx.get(receiver.url + "/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["events_stored"] >= 1
    assert body["last_event_published"]
    assert body["store_lag_seconds"] < 5
    metrics = httpx.get(receiver.url + "/metrics").text
    for name in (
        'okta_alerts_deliveries_total{outcome="accepted"}',
        'okta_alerts_deliveries_total{outcome="unauthorized"}',
        'okta_alerts_events_total{outcome="accepted"}',
        "okta_alerts_ack_seconds_bucket",
        "okta_alerts_queue_depth",
        "okta_alerts_seal_lag_seconds",
    ):
        assert name in metrics
    for text in (health.text, metrics, receiver.output()):
        assert SECRET not in text
        assert "acme" not in text


def test_receiver_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.receiver_process import receiver_env

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
