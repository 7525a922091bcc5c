"""Okta event-hook deliveries and System Log events: strict envelope, tolerant events.

A delivery is accepted or rejected whole. The envelope and the three keys every event needs
(``uuid``, ``eventType``, ``published``) are checked strictly; everything else in an event is kept
as it came and columns are extracted tolerantly at compaction. The receiver validates with a
msgspec schema that reads only those keys (the rest is skipped without building Python objects)
and journals the body as received, so a delivery costs little CPU before its acknowledgement.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

from okta_alerts.errors import DeliveryError

REQUIRED_KEYS = ("uuid", "eventType", "published")
MAX_UUID_LENGTH = 128
MAX_EVENT_BYTES = 8 * 1024 * 1024  # one journal line; readers size their buffers by it


class _Event(msgspec.Struct):
    uuid: str
    eventType: str  # Okta's key names
    published: str


class _Data(msgspec.Struct):
    events: list[_Event]


class _Envelope(msgspec.Struct):
    data: _Data
    eventId: Any = None


class _RawData(msgspec.Struct):
    events: list[msgspec.Raw]


class _RawEnvelope(msgspec.Struct):
    data: _RawData


_DECODER = msgspec.json.Decoder(_Envelope)
_RAW_DECODER = msgspec.json.Decoder(_RawEnvelope)


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

    def keys(self, record_id: str) -> bytes:
        """Index lines ``uuid<TAB>published<TAB>record`` for the writer's duplicate check."""
        return "".join(f"{u}\t{p}\t{record_id}\n" for u, p in self._keys).encode()


def parse_delivery(body: bytes) -> Batch:
    """Validate an event-hook POST body; raise :class:`DeliveryError` (status 400) if bad."""
    if not body.isascii():  # the common case skips the slower full check
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"the body is not UTF-8 ({exc.reason})"
            raise DeliveryError(400, "invalid_json", message) from None
    try:
        envelope = _DECODER.decode(body)
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
    events = envelope.data.events
    keys = [(event.uuid, event.published) for event in events]
    if not _keys_ok(keys, [event.eventType for event in events]):
        for index, event in enumerate(events):  # find the first bad event to name it
            problem = _key_problem(event.uuid, event.eventType, event.published)
            if problem:
                raise DeliveryError(400, "invalid_event", f"data.events[{index}]: {problem}")
    delivery_id = envelope.eventId if isinstance(envelope.eventId, str) else None
    if len({uuid for uuid, _ in keys}) != len(keys):  # a repeat inside one delivery: keep the first
        unique = dedupe_events(orjson.loads(body)["data"]["events"])
        return Batch(delivery_id, unique)
    raw = [bytes(item) for item in _RAW_DECODER.decode(_one_line(body)).data.events]
    for index, text in enumerate(raw):
        if len(text) > MAX_EVENT_BYTES:
            raise DeliveryError(
                400, "invalid_event", f"data.events[{index}] is over {MAX_EVENT_BYTES} bytes"
            )
    return Batch(delivery_id, raw=raw, keys=keys)


_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
_EVENT_KEYS = msgspec.json.Decoder(_Event)


class PageEvents:
    """A System Log page (a JSON array of LogEvents) checked like a delivery, but tolerantly.

    Okta's API is the source of record, so one malformed event must not hold up the rest: it is
    counted in ``bad`` and skipped. Good events are kept as the bytes Okta sent (no Python
    objects are built for them), repeats of a ``uuid`` inside the page are dropped.
    """

    __slots__ = ("bad", "keys", "raw", "size")

    def __init__(self, body: bytes) -> None:
        """Raise :class:`ValueError` when ``body`` is not a JSON array."""
        try:
            items = _ITEMS.decode(_one_line(body))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ValueError(f"not a JSON array of events ({exc})") from None
        self.size = len(items)
        self.bad = 0  # not an object, a key missing or of the wrong type, too big, bad values
        self.raw: list[bytes] = []
        self.keys: list[tuple[str, str]] = []
        types: list[str] = []
        for item in items:
            try:
                event = _EVENT_KEYS.decode(item)
            except msgspec.ValidationError:
                self.bad += 1
                continue
            if len(item) > MAX_EVENT_BYTES:
                self.bad += 1
                continue
            self.raw.append(bytes(item))
            self.keys.append((event.uuid, event.published))
            types.append(event.eventType)
        if not _keys_ok(self.keys, types) or len({u for u, _ in self.keys}) != len(self.keys):
            self._keep_good(types)

    def _keep_good(self, types: list[str]) -> None:
        kept: list[tuple[bytes, tuple[str, str]]] = []
        seen: set[str] = set()
        for raw, key, event_type in zip(self.raw, self.keys, types, strict=True):
            if _key_problem(key[0], event_type, key[1]) is not None:
                self.bad += 1
            elif key[0] not in seen:
                seen.add(key[0])
                kept.append((raw, key))
        self.raw, self.keys = [r for r, _ in kept], [k for _, k in kept]

    @property
    def last_published(self) -> str | None:
        return self.keys[-1][1] if self.keys else None

    def batch(self, delivery_id: str | None) -> Batch:
        return Batch(delivery_id, raw=self.raw, keys=self.keys)


def _one_line(body: bytes) -> bytes:
    """``body`` with line breaks made spaces, so each event fits one journal line. JSON strings
    never hold a raw line break: these are whitespace between tokens."""
    if b"\n" in body or b"\r" in body:
        return body.replace(b"\r", b" ").replace(b"\n", b" ")
    return body


def dedupe_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats of a ``uuid`` inside one batch (the first one is kept)."""
    seen: set[str] = set()
    unique = []
    for event in events:
        if event["uuid"] not in seen:
            seen.add(event["uuid"])
            unique.append(event)
    return unique if len(unique) != len(events) else events


def event_problem(event: Any) -> str | None:
    """Why ``event`` cannot be stored, or None when it can."""
    if not isinstance(event, dict):
        return f"must be an object, not {_json_type(event)}"
    for key in REQUIRED_KEYS:
        value = event.get(key)
        if not isinstance(value, str):
            if key not in event:
                return f"`{key}` is missing"
            return f"`{key}` must be a string, not {_json_type(value)}"
    return _key_problem(event["uuid"], event["eventType"], event["published"])


def _keys_ok(keys: list[tuple[str, str]], event_types: list[str]) -> bool:
    """The checks of :func:`_key_problem` for a whole delivery in a few C-level passes.

    False means "look closer": the per-event path then names the problem (or finds none).
    """
    if not keys:
        return True
    uuids = [uuid for uuid, _ in keys]
    joined = "".join(uuids)
    if not (all(uuids) and all(t.strip() for t in event_types)):
        return False
    if max(map(len, uuids)) > MAX_UUID_LENGTH or not joined.isprintable() or " " in joined:
        return False
    published = [p for _, p in keys]
    if not _TIMESTAMPS.fullmatch("\n".join(published)):
        return False
    return all(p[8:10] <= "28" or is_timestamp(p) for p in published)  # Feb 30 and the like


def _key_problem(uuid: str, event_type: str, published: str) -> str | None:
    if not uuid.strip() or not event_type.strip():
        return "`uuid` and `eventType` must not be empty"
    if len(uuid) > MAX_UUID_LENGTH or not uuid.isprintable() or " " in uuid:
        return f"`uuid` must be up to {MAX_UUID_LENGTH} printable characters without spaces"
    if not is_timestamp(published):
        return f"`published` must be an ISO-8601 time, not {published[:40]!r}"
    return None


_TIMESTAMP_PATTERN = (
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?"
)
_TIMESTAMP = re.compile(_TIMESTAMP_PATTERN)
_TIMESTAMPS = re.compile(f"(?:{_TIMESTAMP_PATTERN}\n)*{_TIMESTAMP_PATTERN}")


_NANOS = re.compile(r"(\.\d{6})\d+")


def is_timestamp(value: str) -> bool:
    """True for ISO-8601 date-times such as Okta's ``2023-03-28T17:03:37.093Z`` (the forms
    DuckDB casts to TIMESTAMPTZ too)."""
    if not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(_NANOS.sub(r"\1", value))  # range checks; Python keeps 6 digits
    except ValueError:
        return False
    return True


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
