"""One value per key, and parser limits, wherever events are parsed: the receiver answers ``400``
naming the problem (never ``5xx``) and stores nothing; ``ingest``, backfill and polling count the
bad event and keep the rest of the file or page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import okta_alerts
from okta_alerts.config import Settings
from okta_alerts.errors import DeliveryError
from okta_alerts.okta.delivery import parse_delivery
from okta_alerts.okta.eventfiles import IngestReport, batches_from_files
from okta_alerts.okta.pages import MAX_NESTING, PageEvents
from okta_alerts.store.writer import write_batches
from okta_alerts.systemlog.backfill import run_backfill
from okta_alerts.systemlog.client import SystemLogClient
from okta_alerts.systemlog.poller import poll_once
from tests.support.factories import iso, make_event
from tests.support.fake_okta import TOKEN, FakeOkta, RawEvent
from tests.support.inprocess import SECRET, InProcessReceiver
from tests.support.settings import make_settings

HEADERS = {"Authorization": SECRET, "X-Okta-Org": "acme", "Content-Type": "application/json"}


def text(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def with_repeat(event: dict[str, Any], key: str, value: Any, first: bool = False) -> bytes:
    """``event`` as JSON with ``key`` given a second time (after, or before, the real one)."""
    extra = orjson.dumps(key) + b":" + orjson.dumps(value)
    body = text(event)
    return b"{" + extra + b"," + body[1:] if first else body[:-1] + b"," + extra + b"}"


def delivery(*events: bytes, head: bytes = b"") -> bytes:
    """An envelope around raw event texts, with ``head`` (raw members) before ``data``."""
    return (
        b'{"eventType":"com.okta.event_hook",'
        + head
        + b'"data":{"events":['
        + b",".join(events)
        + b"]}}"
    )


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_event(depth: int, uuid: str = "deep") -> bytes:
    return text(make_event(uuid=uuid))[:-1] + b',"nested":' + nested(depth) + b"}"


REPEATS: list[tuple[str, bytes, str]] = [
    ("uuid", delivery(text(make_event()), with_repeat(make_event(), "uuid", "other")), ".uuid"),
    ("uuid-first", delivery(with_repeat(make_event(), "uuid", "x", first=True)), "[0].uuid"),
    (
        "uuid-same-value",
        delivery(with_repeat(make_event(uuid="same"), "uuid", "same")),
        "data.events[0].uuid",
    ),
    (
        "uuid-escaped",
        delivery(text(make_event())[:-1] + b',"uu\\u0069d":"shadow"}'),
        "data.events[0].uuid",
    ),
    (
        "published",
        delivery(with_repeat(make_event(), "published", "not a time")),
        "data.events[0].published",
    ),
    (
        "eventType",
        delivery(with_repeat(make_event(), "eventType", "user.account.lock", first=True)),
        "data.events[0].eventType",
    ),
    ("eventId", delivery(text(make_event()), head=b'"eventId":"a","eventId":"b",'), "eventId"),
    ("data", delivery(text(make_event()), head=b'"data":{"events":[]},'), "`data`"),
    (
        "events-empty-first",
        b'{"data":{"events":[],"events":[' + text(make_event()) + b"]}}",
        "data.events",
    ),
    (
        "events-full-first",
        b'{"data":{"events":[' + text(make_event()) + b'],"events":[]}}',
        "data.events",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "body", "named"), REPEATS, ids=[r[0] for r in REPEATS])
async def test_a_repeated_key_is_400_naming_it_and_stores_nothing(
    receiver_app: InProcessReceiver, name: str, body: bytes, named: str
) -> None:
    answer = await receiver_app.client.post("/hooks/okta", content=body, headers=HEADERS)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "repeated_key"
    assert named in answer.json()["detail"]
    assert await receiver_app.stored() == 0


LOOKALIKES = {
    "as-a-value": make_event(display_message="uuid"),
    "in-a-nested-object": make_event(debugContext={"debugData": {"uuid": "x", "published": "y"}}),
    "in-targets": make_event(target=[{"id": "1", "type": "User", "eventType": "z"}]),
    "escaped-elsewhere": make_event(display_message='say "uuid" \u00e9 \\u'),
    "events-in-a-string": make_event(display_message='"events": [1]'),
}


@pytest.mark.anyio
async def test_names_that_only_look_repeated_are_accepted(receiver_app: InProcessReceiver) -> None:
    events = list(LOOKALIKES.values())
    head = b'"source":"\\"events\\"","eventId":"lookalikes",'
    body = delivery(*map(text, events), head=head)
    answer = await receiver_app.client.post("/hooks/okta", content=body, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert await receiver_app.stored("delivery_id = 'lookalikes'") == len(events)


def test_an_empty_delivery_with_repeats_is_refused_and_without_is_accepted() -> None:
    assert parse_delivery(b'{"data":{"events":[]}}').size == 0
    with pytest.raises(DeliveryError, match=r"data\.events"):
        parse_delivery(b'{"data":{"events":[],"events":[]}}')


DEEP_BODIES = [
    ("deep-in-an-event", delivery(deep_event(5000))),
    ("deep-beside-data", b'{"x":' + nested(5000) + b',"data":{"events":[]}}'),
    ("deep-body", nested(100_000)),
    (
        "deep-objects",
        delivery(text(make_event())[:-1] + b',"x":' + b'{"a":' * 5000 + b"1" + b"}" * 5001),
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "body"), DEEP_BODIES, ids=[b[0] for b in DEEP_BODIES])
async def test_deep_nesting_is_400_never_500(
    receiver_app: InProcessReceiver, name: str, body: bytes
) -> None:
    answer = await receiver_app.client.post("/hooks/okta", content=body, headers=HEADERS)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] in ("invalid_json", "invalid_envelope", "invalid_event")
    assert await receiver_app.stored() == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "value",
    [b"1e400", b"123456789012345678901234567890123456789", b'"\\u0000"', b"-0", b'"\\ud800"'],
    ids=["huge-float", "huge-int", "nul-escape", "minus-zero", "lone-surrogate"],
)
async def test_other_parser_limits_are_200_or_400(
    receiver_app: InProcessReceiver, value: bytes
) -> None:
    body = delivery(text(make_event())[:-1] + b',"odd":' + value + b"}")
    answer = await receiver_app.client.post("/hooks/okta", content=body, headers=HEADERS)
    assert answer.status_code in (200, 400), answer.text
    assert await receiver_app.stored() == (answer.status_code == 200)


def page_events() -> tuple[list[bytes], list[str]]:
    """A page: good events around bad ones; returns the texts and the uuids to keep."""
    good = [make_event(uuid=f"good-{i}") for i in range(3)]
    items = [
        text(good[0]),
        with_repeat(make_event(uuid="bad-repeat"), "uuid", "other"),
        deep_event(MAX_NESTING + 10, uuid="bad-deep"),
        text(good[1]),
        deep_event(5000, uuid="bad-deeper"),
        with_repeat(make_event(uuid="bad-published"), "published", "nope", first=True),
        text(good[2]),
    ]
    return items, [e["uuid"] for e in good]


def test_a_page_keeps_its_good_events_and_counts_the_rest() -> None:
    items, kept = page_events()
    found = PageEvents(b"[" + b",".join(items) + b"]")
    assert (found.size, found.bad) == (7, 4)
    assert [uuid for uuid, _ in found.keys] == kept


def test_a_deep_event_at_the_page_level_spoils_only_itself() -> None:
    page = b"[" + text(make_event(uuid="kept")) + b"," + nested(100_000) + b"]"
    found = PageEvents(page)
    assert (found.size, found.bad, [u for u, _ in found.keys]) == (2, 1, ["kept"])


def test_ingest_reports_each_bad_item_and_stores_the_rest(
    tmp_path: Path, settings: Settings
) -> None:
    items, kept = page_events()
    lines = tmp_path / "events.ndjson"
    lines.write_bytes(b"\n".join(items) + b"\n")
    array = tmp_path / "page.json"
    more = [make_event(uuid="array-kept")]
    array.write_bytes(b"[" + text(more[0]) + b"," + deep_event(50_000) + b"]")
    hooks = tmp_path / "hooks.ndjson"
    hooks.write_bytes(
        delivery(text(make_event(uuid="hook-kept")), head=b'"eventId":"1",') + b"\n"
        + delivery(text(make_event(uuid="hook-lost")), head=b'"data":{"events":[]},') + b"\n"
    )  # fmt: skip
    report = IngestReport()
    write_batches(settings, batches_from_files([lines, array, hooks], report))
    assert report.bad == 4 + 1 + 1, report.problems
    assert f"{lines}:2: `uuid` is given more than once" in report.problems
    assert f"{lines}:3: the event is nested deeper than {MAX_NESTING} levels" in report.problems
    assert any(p.startswith(f"{hooks}:2: `data` is given more than once") for p in report.problems)
    con = okta_alerts.connect(settings.data_dir)
    stored = {u for (u,) in con.execute("SELECT uuid FROM events").fetchall()}
    assert stored == {*kept, "array-kept", "hook-kept"}


@pytest.fixture
def hostile_okta() -> Any:
    """A fake Okta whose log holds good events around hostile ones."""
    now = datetime.now(UTC)
    good = [make_event("user.account.lock", now - timedelta(hours=2, minutes=i)) for i in range(5)]
    when = iso(now - timedelta(hours=1))
    hostile = [
        RawEvent(
            with_repeat(make_event("user.account.lock", when, uuid=uuid), key, value),
            uuid=uuid,
            published=when,
            eventType="user.account.lock",
        )
        for uuid, key, value in (("r1", "uuid", "r2"), ("r3", "published", "x"))
    ]
    hostile.append(
        RawEvent(
            text(make_event("user.account.lock", when, uuid="deep"))[:-1]
            + b',"x":'
            + nested(20_000)
            + b"}",
            uuid="deep",
            published=when,
            eventType="user.account.lock",
        )
    )
    fake = FakeOkta([*good, *hostile], page_size=3).start()
    yield fake, {e["uuid"] for e in good}
    fake.stop()


def test_backfill_and_polling_skip_hostile_events_and_keep_the_rest(
    data_dir: Path, hostile_okta: Any
) -> None:
    fake, good = hostile_okta
    settings = make_settings(
        data_dir, okta_org_url=fake.url, okta_api_token=TOKEN, poll_lag_seconds=0
    )
    now = datetime.now(UTC)
    with SystemLogClient(fake.url, TOKEN, backoff_initial=0.05) as client:
        result = run_backfill(settings, now - timedelta(days=1), now, client=client)
        assert (result.events, result.skipped) == (len(good), 3)
        polled = poll_once(settings, client)
    assert polled.events == 0  # polled again: all stored, the hostile ones still refused
    con = okta_alerts.connect(data_dir)
    assert {u for (u,) in con.execute("SELECT uuid FROM events").fetchall()} == good


def test_an_event_on_the_last_day_of_9999_is_compacted(settings: Settings) -> None:
    """The receiver acknowledges it (test_receiver_http); compaction must not stop on it."""
    event = make_event(published="9999-12-31T23:59:59.999Z")
    write_batches(settings, [parse_delivery(delivery(text(event)))])
    con = okta_alerts.connect(settings.data_dir)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)


@pytest.mark.parametrize("published", ["２０２６-11-28T12:00:00.000Z", "2026-11-2٨T12:00:00Z"])
def test_published_digits_are_ascii_in_every_path(published: str) -> None:
    """The many-events check and the per-event one agree (both read 0-9 only)."""
    events = [text(make_event()), text(make_event(published=published))]
    with pytest.raises(DeliveryError, match=r"data\.events\[1\]: `published`"):
        parse_delivery(delivery(*events))
    found = PageEvents(b"[" + b",".join(events) + b"]")
    assert (found.size, found.bad) == (2, 1)
