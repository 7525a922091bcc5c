"""Okta event-hook deliveries: strict envelope, tolerant events, one value per key.

A delivery is accepted or rejected whole. The envelope and the three keys every event needs
(``uuid``, ``eventType``, ``published``) are checked strictly; everything else in an event is kept
as it came and columns are extracted tolerantly at compaction. The receiver validates with a
msgspec schema that reads only those keys (the rest is skipped without building Python objects)
and journals the body as received, so a delivery costs little CPU before its acknowledgement.

A name the receiver reads (``data``, ``eventId``, ``data.events`` and each event's three keys)
given twice is refused: the decoders count what they read (:mod:`okta_alerts.okta.eventkeys`),
and only a count that does not add up sends the body to the careful look of
:mod:`okta_alerts.okta.jsonshape`. JSON nested deeper than msgspec follows (Python's recursion
limit, about 950 levels for a delivery) is refused as well.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypedDict

import msgspec
import orjson

from okta_alerts.errors import DeliveryError
from okta_alerts.okta.eventkeys import (
    DECODING,
    DeliveryId,
    Envelope,
    Event,
    EventType,
    Published,
    Uuid,
    fresh_lists,
    key_problem,
    keys_ok,
    seen,
)
from okta_alerts.okta.jsonshape import repeated_delivery_key
from okta_alerts.okta.typednames import TypedNames

HOOK_EVENT_TYPE = "com.okta.event_hook"
MAX_EVENT_BYTES = 8 * 1024 * 1024  # one journal line; readers size their buffers by it
TOO_DEEP = "is nested too deeply to read"


class _Data(msgspec.Struct):
    events: list[Event]

    def __post_init__(self) -> None:
        seen(Envelope, None)  # counted like the keys: a repeated `data` decodes twice


class _Envelope(msgspec.Struct):
    data: _Data
    eventId: DeliveryId = DeliveryId()  # a placeholder: the values are in DeliveryId.found


class _RawData(msgspec.Struct):
    events: list[msgspec.Raw]


class _RawEnvelope(msgspec.Struct):
    data: _RawData


class _CountedRawData(msgspec.Struct):
    events: list[msgspec.Raw]

    def __post_init__(self) -> None:
        seen(Envelope, None)


class _CountedRawEnvelope(msgspec.Struct):
    data: _CountedRawData
    eventId: DeliveryId = DeliveryId()  # a placeholder: the values are in DeliveryId.found


class HookData(TypedDict):
    events: list[dict[str, Any]]


class _DeliveryId(TypedDict, total=False):
    eventId: str


class HookEnvelope(_DeliveryId):
    """An event-hook delivery as Okta POSTs it (docs/okta.md §1); ``eventId`` names the delivery."""

    eventType: str
    eventTypeVersion: str
    cloudEventsVersion: str
    source: str
    eventTime: str
    contentType: str
    data: HookData


def hook_envelope(
    events: list[dict[str, Any]], delivery_id: str | None, source: str, when: str
) -> HookEnvelope:
    """``events`` as one event-hook delivery from ``source``, sent at ``when`` (its eventTime,
    as the sender writes it); without a ``delivery_id`` the envelope has no ``eventId``."""
    named: _DeliveryId = {} if delivery_id is None else {"eventId": delivery_id}
    return {
        "eventType": HOOK_EVENT_TYPE,
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": source,
        **named,
        "eventTime": when,
        "contentType": "application/json",
        "data": {"events": events},
    }


_DECODER = msgspec.json.Decoder(_Envelope, dec_hook=seen)
_RAW_DECODER = msgspec.json.Decoder(_RawEnvelope)
_COUNTED_RAW_DECODER = msgspec.json.Decoder(_CountedRawEnvelope, dec_hook=seen)


class Batch:
    """Validated events ready for the journal: one journal record.

    Built either from event dicts (ingest, backfill, simulator) or, by :func:`parse_delivery`,
    from the events' JSON exactly as received. Events inside one batch have distinct ``uuid``
    values. The journal gets one line per event.
    """

    __slots__ = ("_events", "_keys", "_raw", "delivery_id")

    def __init__(
        self,
        delivery_id: str | None,
        events: list[dict[str, Any]] | None = None,
        *,
        raw: list[bytes] | None = None,
        keys: list[tuple[str, str]] | None = None,
    ) -> None:
        self.delivery_id = delivery_id
        self._events = events
        self._raw = raw  # each event's JSON as received, without line breaks
        self._keys = (
            keys if keys is not None else [(e["uuid"], e["published"]) for e in events or []]
        )

    @property
    def size(self) -> int:
        return len(self._keys)

    @property
    def events(self) -> list[dict[str, Any]]:
        if self._events is None:
            self._events = [orjson.loads(raw) for raw in self._raw or []]
        return self._events

    def record(self, record_id: str, received_at: datetime | None = None) -> bytes:
        """The journal lines of this batch: one per event, newline-terminated."""
        when = (received_at or datetime.now(UTC)).isoformat()
        head = {"record": record_id, "delivery_id": self.delivery_id, "received_at": when}
        prefix = orjson.dumps(head)[:-1] + b',"event":'
        raws = self._raw if self._raw is not None else map(orjson.dumps, self._events or [])
        return b"".join([prefix + raw + b"}\n" for raw in raws])

    @property
    def uuids(self) -> list[str]:
        return [u for u, _ in self._keys]

    @property
    def published(self) -> list[str]:
        """Each event's ``published`` as sent."""
        return [p for _, p in self._keys]

    def keys(self, record_id: str) -> bytes:
        """Index lines ``uuid<TAB>published<TAB>record`` for the writer's duplicate check."""
        return "".join(f"{u}\t{p}\t{record_id}\n" for u, p in self._keys).encode()


def parse_delivery(body: bytes, typed: TypedNames | None = None) -> Batch:
    """Validate an event-hook POST body; raise :class:`DeliveryError` (status 400) if bad.

    With ``typed``, the typed name of an unknown actor is replaced by its token (typednames).
    """
    _check_utf8(body)
    with DECODING:
        found = fresh_lists()
        events = _decode(body).data.events
    flat = one_line(body)
    try:
        raw = [bytes(item) for item in _RAW_DECODER.decode(flat).data.events]
    except RecursionError:
        raise DeliveryError(400, "invalid_json", f"the body {TOO_DEEP}") from None
    uuids, types, published = found[Uuid], found[EventType], found[Published]
    ids = found[DeliveryId]
    once = len(uuids) == len(types) == len(published) == len(events)
    if not once or len(found[Envelope]) != 1 or len(ids) > 1:
        _refuse_repeats(body, found_none_is_odd=True)
    elif not _events_in_place(flat, raw):
        _refuse_repeats(body)
    if not keys_ok(uuids, types, published):
        for index, key in enumerate(zip(uuids, types, published, strict=True)):
            problem = key_problem(*key)  # the first bad event, named
            if problem:
                raise DeliveryError(400, "invalid_event", f"data.events[{index}]: {problem}")
    if max(map(len, raw), default=0) > MAX_EVENT_BYTES:
        index = next(i for i, text in enumerate(raw) if len(text) > MAX_EVENT_BYTES)
        message = f"data.events[{index}] is over {MAX_EVENT_BYTES} bytes"
        raise DeliveryError(400, "invalid_event", message)
    if typed is not None:
        _hash_typed_names(typed, raw, [event.actor for event in events])
    keys = list(zip(uuids, published, strict=True))
    if len(set(uuids)) != len(uuids):  # a repeat inside one delivery: keep the first
        raw, keys = first_of_each_uuid(raw, keys)
    delivery_id = ids[0] if ids and isinstance(ids[0], str) else None
    return Batch(delivery_id, raw=raw, keys=keys)


def _check_utf8(body: bytes) -> None:
    if not body.isascii():  # the common case skips the slower full check
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"the body is not UTF-8 ({exc.reason})"
            raise DeliveryError(400, "invalid_json", message) from None


def _decode(body: bytes) -> _Envelope:
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        where = where.rstrip("`")
        if where.startswith(".data.events["):
            raise DeliveryError(400, "invalid_event", f"{where[1:]}: {message}") from None
        place = f" at `{where[1:]}`" if where else ""
        raise DeliveryError(
            400, "invalid_envelope", f'{message}{place}; expected {{"data": {{"events": [...]}}}}'
        ) from None
    except msgspec.DecodeError as exc:
        raise DeliveryError(400, "invalid_json", f"the body is not valid JSON ({exc})") from None
    except RecursionError:
        raise DeliveryError(400, "invalid_json", f"the body {TOO_DEEP}") from None


_EVENTS_OPEN = re.compile(rb'"events"\s*:\s*\[\s*')


def _events_in_place(body: bytes, raw: list[bytes]) -> bool:
    """Whether the first ``"events"`` of ``body`` opens the list msgspec kept (the last one):
    no earlier, empty ``events`` list that the counts could not see."""
    if not raw:
        return False  # nothing to place: look closer (an empty delivery is cheap to read)
    start = body.find(b'"events"')
    found = _EVENTS_OPEN.match(body, start) if start >= 0 else None
    return found is not None and body.startswith(raw[0], found.end())


def _refuse_repeats(body: bytes, found_none_is_odd: bool = False) -> None:
    """The careful look: 400 naming the first repeated name the receiver reads, if any.

    ``found_none_is_odd``: the counts already showed a repeat; if the careful look finds none,
    the two readings disagree and the body is refused rather than read one way.
    """
    try:
        repeated = repeated_delivery_key(body)
    except ValueError as exc:
        raise DeliveryError(400, "invalid_json", f"the body cannot be read ({exc})") from None
    if repeated is not None:
        raise DeliveryError(
            400, "repeated_key", f"`{repeated}` is given more than once; send one value per key"
        )
    if found_none_is_odd:
        raise DeliveryError(400, "invalid_json", "the body's keys cannot be read unambiguously")


def _hash_typed_names(typed: TypedNames, raw: list[bytes], actors: list[msgspec.Raw]) -> None:
    try:
        typed.rewrite(raw, actors)
    except RecursionError:
        raise DeliveryError(400, "invalid_event", f"an event {TOO_DEEP}") from None


def envelope_events(body: bytes) -> tuple[list[msgspec.Raw], str | None]:
    """The events of one hook envelope as raw JSON, and its ``eventId`` when it is a string.

    For envelopes inside event files: each event is then checked on its own. Raises
    :class:`DeliveryError` when ``body`` is not an envelope or repeats ``data``, ``eventId`` or
    ``data.events``.
    """
    try:
        with DECODING:
            found = fresh_lists()
            events = _COUNTED_RAW_DECODER.decode(body).data.events
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DeliveryError(400, "invalid_envelope", str(exc)) from None
    except RecursionError:
        raise DeliveryError(400, "invalid_json", f"the envelope {TOO_DEEP}") from None
    ids = found[DeliveryId]
    if len(found[Envelope]) != 1 or len(ids) > 1:
        _refuse_repeats(body, found_none_is_odd=True)
    elif not _events_in_place(body, [bytes(e) for e in events[:1]]):
        _refuse_repeats(body)
    return events, ids[0] if ids and isinstance(ids[0], str) else None


def first_of_each_uuid(
    raw: list[bytes], keys: list[tuple[str, str]]
) -> tuple[list[bytes], list[tuple[str, str]]]:
    """Drop repeats of a ``uuid`` inside one batch (the first one is kept)."""
    seen: set[str] = set()
    kept_raw, kept_keys = [], []
    for text, key in zip(raw, keys, strict=True):
        if key[0] not in seen:
            seen.add(key[0])
            kept_raw.append(text)
            kept_keys.append(key)
    return kept_raw, kept_keys


def one_line(body: bytes) -> bytes:
    """``body`` with line breaks made spaces, so each event fits one journal line. JSON strings
    never hold a raw line break: these are whitespace between tokens."""
    if b"\n" in body or b"\r" in body:
        return body.replace(b"\r", b" ").replace(b"\n", b" ")
    return body
