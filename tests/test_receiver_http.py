"""The HTTP contract of /hooks/okta, /healthz and /metrics, against the app in process.

The app runs with its lifespan (group committer, sealing) over a real store in a temporary data
dir; httpx calls it through ASGI. What only a real server shows (a body refused before it is
read, start-up refusals, kill -9) is in test_receiver_process.py and test_durability.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.support.factories import envelope, make_event
from tests.support.inprocess import SECRET, InProcessReceiver

pytestmark = pytest.mark.anyio

GOOD = {"Authorization": SECRET, "X-Okta-Org": "acme"}
JSON = {"Content-Type": "application/json"}


async def post(app: InProcessReceiver, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return await app.client.post("/hooks/okta", content=data, headers=headers or {**GOOD, **JSON})


async def test_verification_handshake_echoes_the_challenge(receiver_app: InProcessReceiver) -> None:
    headers = {**GOOD, "X-Okta-Verification-Challenge": "c-123"}
    answer = await receiver_app.client.get("/hooks/okta", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"verification": "c-123"}


async def test_verification_without_challenge_is_400(receiver_app: InProcessReceiver) -> None:
    answer = await receiver_app.client.get("/hooks/okta", headers=GOOD)
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
async def test_bad_credentials_are_401_and_store_nothing(
    receiver_app: InProcessReceiver, method: str, headers: dict[str, str], named: str
) -> None:
    event = make_event()
    answer = await receiver_app.client.request(
        method,
        "/hooks/okta",
        content=orjson.dumps(envelope([event])),
        headers={**headers, **JSON, "X-Okta-Verification-Challenge": "x"},
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "unauthorized",
        "detail": f"missing or wrong `{named}` header",
    }
    assert SECRET not in answer.text
    assert await receiver_app.stored(f"uuid = '{event['uuid']}'") == 0


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
async def test_malformed_deliveries_are_400(
    receiver_app: InProcessReceiver, name: str, body: Any, code: str
) -> None:
    answer = await post(receiver_app, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == code
    assert answer.json()["detail"]


async def test_rejected_deliveries_store_nothing(receiver_app: InProcessReceiver) -> None:
    """Every kind of rejection, each carrying valid events; then one good delivery as a fence."""

    def marked(count: int = 3) -> list[dict[str, Any]]:
        return [make_event(uuid=f"rejected-{i}-{time.monotonic_ns()}") for i in range(count)]

    big = [make_event(uuid=f"rejected-big-{i}", user_agent="x" * 20_000) for i in range(60)]
    attempts = [
        (orjson.dumps(envelope(marked())), {"X-Okta-Org": "acme", **JSON}, 401),
        (orjson.dumps(envelope(marked())), {**GOOD, "Content-Type": "text/plain"}, 415),
        (orjson.dumps(envelope([*marked(), "nope"])), {**GOOD, **JSON}, 400),
        (orjson.dumps(envelope([*marked(), _without("uuid")])), {**GOOD, **JSON}, 400),
        (orjson.dumps(envelope(big)), {**GOOD, **JSON}, 413),
    ]
    for body, headers, status in attempts:
        assert (await post(receiver_app, body, headers)).status_code == status
    fence = make_event()
    assert (await post(receiver_app, envelope([fence]))).status_code == 200
    assert await receiver_app.stored(f"uuid = '{fence['uuid']}'") == 1
    assert await receiver_app.stored("starts_with(uuid, 'rejected-')") == 0


async def test_non_json_content_type_is_415(receiver_app: InProcessReceiver) -> None:
    headers = {**GOOD, "Content-Type": "text/plain"}
    answer = await post(receiver_app, envelope([make_event()]), headers)
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


async def test_body_over_the_limit_is_413(receiver_app: InProcessReceiver) -> None:
    events = [make_event(user_agent="x" * 20_000) for _ in range(60)]
    answer = await post(receiver_app, envelope(events))
    assert answer.status_code == 413
    assert "OKTA_ALERTS_MAX_BODY_BYTES" in answer.json()["detail"]


async def test_chunked_body_over_the_limit_is_413(receiver_app: InProcessReceiver) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 50_000

    headers = {**GOOD, **JSON}
    answer = await receiver_app.client.post("/hooks/okta", content=chunks(), headers=headers)
    assert answer.status_code == 413


async def test_accepted_delivery_is_200_empty_and_stored(receiver_app: InProcessReceiver) -> None:
    events = [make_event("user.account.lock", actor=f"u{i}@example.com") for i in range(5)]
    answer = await post(receiver_app, envelope(events, event_id="delivery-accepted"))
    assert answer.status_code == 200
    assert answer.content == b""
    uuids = ", ".join(f"'{e['uuid']}'" for e in events)
    where = f"uuid IN ({uuids}) AND delivery_id = 'delivery-accepted'"
    assert await receiver_app.stored(where) == 5


async def test_charset_and_vendor_json_content_types_are_accepted(
    receiver_app: InProcessReceiver,
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/cloudevents+json"):
        headers = {**GOOD, "Content-Type": content_type}
        answer = await post(receiver_app, envelope([make_event()]), headers)
        assert answer.status_code == 200, content_type


async def test_unknown_paths_and_methods(receiver_app: InProcessReceiver) -> None:
    assert (await receiver_app.client.get("/nope", headers=GOOD)).status_code == 404
    answer = await receiver_app.client.put("/hooks/okta", headers=GOOD)
    assert answer.status_code == 405
    assert answer.json()["error"] == "http_error"


@pytest.mark.parametrize("path", ["/hooks/okta", "/healthz", "/metrics"])
async def test_head_is_405_like_every_method_not_served(
    receiver_app: InProcessReceiver, path: str
) -> None:
    answer = await receiver_app.client.head(path, headers=GOOD)
    assert answer.status_code == 405


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_trailing_slash_is_404_never_a_redirect_built_from_host(
    receiver_app: InProcessReceiver, method: str
) -> None:
    headers = {**GOOD, **JSON, "Host": "evil.example", "X-Okta-Verification-Challenge": "c"}
    answer = await receiver_app.client.request(
        method, "/hooks/okta/", content=orjson.dumps(envelope([make_event()])), headers=headers
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert "evil.example" not in answer.text


async def test_healthz_and_metrics_report_without_secrets(receiver_app: InProcessReceiver) -> None:
    await post(receiver_app, envelope([make_event()]))
    await post(receiver_app, b"{}", {"Authorization": "wrong", **JSON})
    await receiver_app.sealed()
    health = await receiver_app.client.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["events_stored"] >= 1
    assert body["last_event_published"]
    assert body["store_lag_seconds"] == 0
    metrics = (await receiver_app.client.get("/metrics")).text
    for name in (
        'okta_alerts_deliveries_total{outcome="accepted"} 1.0',
        'okta_alerts_deliveries_total{outcome="unauthorized"} 1.0',
        'okta_alerts_events_total{outcome="accepted"} 1.0',
        "okta_alerts_ack_seconds_bucket",
        "okta_alerts_queue_depth",
        "okta_alerts_seal_lag_seconds",
    ):
        assert name in metrics
    for text in (health.text, metrics):
        assert SECRET not in text
        assert "acme" not in text


async def test_far_off_times_are_acknowledged_counted_and_never_pin_freshness(
    receiver_app: InProcessReceiver,
) -> None:
    now = datetime.now(UTC)
    recent = now - timedelta(minutes=1)
    events = [
        make_event(published="9999-12-31T23:59:59.999Z"),
        make_event(published=now + timedelta(days=2)),
        make_event(published=now - timedelta(days=1000)),  # past the 400-day retention
        make_event(published=recent),
        make_event(published=now + timedelta(hours=2)),  # ahead, but within a day
    ]
    assert (await post(receiver_app, envelope(events))).status_code == 200
    await receiver_app.sealed()
    metrics = (await receiver_app.client.get("/metrics")).text
    assert 'okta_alerts_events_out_of_range_total{when="future"} 2.0' in metrics
    assert 'okta_alerts_events_out_of_range_total{when="expired"} 1.0' in metrics
    health = (await receiver_app.client.get("/healthz")).json()
    assert datetime.fromisoformat(health["last_event_published"]) == recent.replace(
        microsecond=recent.microsecond // 1000 * 1000
    )
    assert await receiver_app.stored() == 5  # all stored; the expired one until compaction


async def test_a_delivery_without_events_is_200_and_leaves_no_store_lag(
    receiver_app: InProcessReceiver,
) -> None:
    assert (await post(receiver_app, envelope([]))).status_code == 200
    await receiver_app.sealed(timeout=3)  # an empty write once kept the lag growing forever
