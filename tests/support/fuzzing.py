"""Hypothesis strategies for hostile and messy Okta input, as bytes: events, envelopes, pages.

Events start from realistic ones (the factory and the published samples) and are then bent the
ways real and hostile senders bend them: keys missing or of the wrong type, times far off or
malformed, uuids from a small pool (so copies meet), Okta's "no value" strings, unknown actors,
unicode and escapes, deep nesting, a key given twice (escaped spellings too), pretty-printing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from tests.support.factories import make_event
from tests.support.samples import sample_names, storable

UUID_POOL = [f"fz-{i:02d}" for i in range(64)]
dumps = msgspec.json.encode  # numbers of any size (orjson stops at 64 bits)

TIMES = st.sampled_from(
    [
        "2026-11-28T12:00:00.000Z",
        "2026-11-28T12:00:00Z",
        "2026-11-28 12:00:00.123456789",
        "2026-11-28T13:00:00+01:00",
        "2026-11-28T12:00Z",
        "2026-11-28",
        "9999-06-30T23:59:59.999Z",  # the year 9999 (its last day: see test_hostile_payloads)
        "1970-01-01T00:00:00Z",
    ]
)
BAD_TIMES = st.sampled_from(["2026-02-30T00:00:00Z", "2026-13-01T00:00Z", "yesterday", "", "x"])
BAD_UUIDS = st.sampled_from(["", " ", "a b", "tab\there", "x" * 129, "new\nline"])
TYPES = st.sampled_from(
    ["user.account.lock", "user.session.start", "application.user_membership.add"]
)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["null", "None", "unknown", "", "\u0000", "é", "🚀", '"events"', "uuid"]),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NOT_A_STRING = st.one_of(
    st.none(), st.integers(), st.lists(st.integers(), max_size=2), st.booleans()
)


@st.composite
def event_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A LogEvent as a dict, realistic or bent."""
    if draw(st.booleans()):
        event = make_event()
    else:
        event = storable(draw(st.sampled_from(sample_names())), 0)
    broken = draw(st.sampled_from([None] * 6 + ["uuid", "published", "eventType", "missing"]))
    event["uuid"] = draw(st.sampled_from(UUID_POOL) | st.uuids().map(str))
    event["published"] = draw(TIMES)
    event["eventType"] = draw(TYPES)
    if broken == "missing":
        del event[draw(st.sampled_from(["uuid", "published", "eventType"]))]
    elif broken is not None:
        wrong = {"uuid": BAD_UUIDS, "published": BAD_TIMES, "eventType": st.just(" ")}[broken]
        event[broken] = draw(wrong | NOT_A_STRING)
    if draw(st.booleans()):
        typed = draw(st.text(max_size=16))
        event["actor"] = {"id": "unknown", "type": "User", "alternateId": typed}
    if draw(st.booleans()):
        client = event.get("client") if isinstance(event.get("client"), dict) else {}
        client.update(ipAddress=draw(JSON_LEAF), zone=draw(JSON_LEAF))
        event["client"] = client
    for _ in range(draw(st.integers(0, 2))):
        event[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUE)
    return event


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@st.composite
def event_texts(draw: st.DrawFn) -> bytes:
    """One event as JSON text, sometimes with a key twice, deep nesting or pretty-printed."""
    event = draw(event_dicts())
    text = dumps(event)
    if draw(st.booleans()):
        text = msgspec.json.format(text, indent=2)
    twist = draw(st.integers(0, 15))  # 0 first: hypothesis leans to small draws
    if twist == 13:  # a key twice, after the real one or before it
        key = draw(st.sampled_from(["uuid", "published", "eventType", "actor"]))
        extra = dumps(key) + b":" + dumps(draw(JSON_LEAF))
        text = (
            text[:-1] + b"," + extra + b"}"
            if draw(st.booleans())
            else b"{" + extra + b"," + text[1:]
        )
    elif twist == 14:  # an escaped spelling of a key
        text = text[:-1] + b',"uu\\u0069d":"' + draw(st.sampled_from(UUID_POOL)).encode() + b'"}'
    elif twist == 15:  # nesting, from plausible to hostile
        depth = draw(st.sampled_from([10, 199, 201, 400, 2000, 20_000]))
        text = text[:-1] + b',"deep":' + nested(depth) + b"}"
    return text


@st.composite
def envelope_texts(draw: st.DrawFn) -> bytes:
    """A hook delivery as JSON text: a plausible envelope, or a bent one."""
    events = draw(st.lists(event_texts(), min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=5))
    members = [b'"eventType":"com.okta.event_hook"', b'"source":"https://acme.okta.com"']
    event_id = draw(st.none() | st.text(max_size=8) | JSON_LEAF)
    if event_id is not None:
        members.append(b'"eventId":' + dumps(event_id))
    data = b'{"events":[' + b",".join(events) + b"]}"
    shape = draw(st.integers(0, 15))  # 0 first: a plausible envelope
    if shape == 10:
        data = dumps(draw(JSON_VALUE))  # data that is not an events object
    elif shape == 11:
        data = b'{"events":' + dumps(draw(JSON_VALUE)) + b"}"
    elif shape == 12:
        data = b'{"events":[],' + data[1:]  # events twice, the first empty
    members.append(b'"data":' + data)
    if shape == 13:
        members.insert(0, b'"data":{"events":[]}')  # data twice
    elif shape == 14:
        members.append(b'"eventId":"again"')
    body = b"{" + b",".join(members) + b"}"
    return body if shape != 15 else dumps(draw(JSON_VALUE))


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """Raw bytes: garbage, or a plausible delivery cut, flipped or spliced."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    body = bytearray(draw(envelope_texts()))
    for _ in range(draw(st.integers(0, 3))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        action = draw(st.integers(0, 3))
        if action == 0:
            del body[at:]
        elif action == 1:
            body[at] = draw(st.integers(0, 255))
        elif action == 2:
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            body[at:at] = bytes(body[at : at + draw(st.integers(1, 40))])
    return bytes(body)


def uuids_of(body: bytes) -> dict[str, str]:
    """The uuids of an accepted delivery, read as the receiver reads them, with the
    ``published`` text of each (the first copy's)."""
    envelope = msgspec.json.decode(body)
    found: dict[str, str] = {}
    for event in envelope["data"]["events"]:
        found.setdefault(event["uuid"], event["published"])
    return found
