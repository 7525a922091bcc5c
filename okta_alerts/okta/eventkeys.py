"""The three keys every stored event needs (``uuid``, ``eventType``, ``published``), checked once.

msgspec reads them without building Python objects for the rest of the event. A JSON object may
repeat a name; msgspec keeps the last value, DuckDB (which extracts the columns) the first, so a
repeat of a key the receiver checks or indexes would let the checks and the views read different
values. So msgspec does not store these keys itself: its ``dec_hook`` (:func:`seen`) appends each
value it decodes to a list per key (:class:`Counted`) and returns a placeholder. More values
than events is the only cheap sign of a repeat, and then :mod:`okta_alerts.okta.jsonshape` looks
closer; with no repeat, the lists hold each event's keys in order. The lists are shared, so every
decode with these types holds :data:`DECODING`.
"""

from __future__ import annotations

import re
import threading
from typing import Any, ClassVar

import msgspec

from okta_alerts.times import TIMESTAMP_PATTERN, is_timestamp

REQUIRED_KEYS = ("uuid", "eventType", "published")
MAX_UUID_LENGTH = 128


class Counted:
    """A key msgspec read: its values, in the order read, are in the subclass's ``found``."""

    __slots__ = ()
    found: ClassVar[list[Any]] = []
    one: ClassVar[Counted]


class Uuid(Counted):
    __slots__ = ()


class EventType(Counted):
    __slots__ = ()


class Published(Counted):
    __slots__ = ()


class DeliveryId(Counted):
    """An envelope's ``eventId`` (any JSON value; only a string names the delivery)."""

    __slots__ = ()


class Envelope(Counted):
    """Noted once per ``data`` object decoded (a repeated ``data`` decodes twice)."""

    __slots__ = ()


KINDS: tuple[type[Counted], ...] = (Uuid, EventType, Published, DeliveryId, Envelope)
for _kind in KINDS:
    _kind.found = []
    _kind.one = _kind()


def seen(kind: type[Counted], value: Any) -> Counted:
    """msgspec's ``dec_hook``: note ``value`` under ``kind``."""
    kind.found.append(value)
    return kind.one


DECODING = threading.Lock()  # held around a decode with these types and the reading of `found`


def fresh_lists() -> dict[type[Counted], list[Any]]:
    """Empty lists for the next decode (call it holding :data:`DECODING`); after the decode,
    ``found[kind]`` is what it read."""
    found: dict[type[Counted], list[Any]] = {}
    for kind in KINDS:
        kind.found = found[kind] = []
    return found


class Event(msgspec.Struct):
    """What is read of each event: the three keys (counted), and the actor as sent."""

    uuid: Uuid
    eventType: EventType  # Okta's key names
    published: Published
    actor: msgspec.Raw = msgspec.Raw(b"null")


EVENT_DECODER = msgspec.json.Decoder(Event, dec_hook=seen)


def keys_ok(uuids: list[Any], event_types: list[Any], published: list[Any]) -> bool:
    """The checks of :func:`key_problem` for many events in a few C-level passes.

    False means "look closer": the per-event path then names the problem (or finds none). A
    value that is not a string makes a join or ``strip`` fail, and is found the same way.
    """
    if not uuids:
        return True
    try:
        joined = "".join(uuids)
        if not (all(uuids) and all(t.strip() for t in event_types)):
            return False
        times = "\n".join(published)
    except (TypeError, AttributeError):
        return False
    if max(map(len, uuids)) > MAX_UUID_LENGTH or not joined.isprintable() or " " in joined:
        return False
    if _OKTA_TIMES.fullmatch(times):
        return True  # Okta's own form on days 1-28: valid in every month
    if not _TIMESTAMPS.fullmatch(times):
        return False
    return all(p[8:10] <= "28" or is_timestamp(p) for p in published)  # Feb 30 and the like


def key_problem(uuid: Any, event_type: Any, published: Any) -> str | None:
    """What is wrong with one event's keys (``key: why``), or None."""
    for key, value in zip(REQUIRED_KEYS, (uuid, event_type, published), strict=True):
        if type(value) is not str:
            return f"`{key}` must be a string, not {json_type(value)}"
    if not uuid.strip() or not event_type.strip():
        return "`uuid` and `eventType` must not be empty"
    if len(uuid) > MAX_UUID_LENGTH or not uuid.isprintable() or " " in uuid:
        return f"`uuid` must be up to {MAX_UUID_LENGTH} printable characters without spaces"
    if not is_timestamp(published):
        return f"`published` must be an ISO-8601 time, not {published[:40]!r}"
    return None


def event_problem(event: object) -> str | None:
    """Why ``event`` (decoded) cannot be stored, or None when its keys are fine."""
    if not isinstance(event, dict):
        return f"must be an object, not {json_type(event)}"
    for key in REQUIRED_KEYS:
        if key not in event:
            return f"`{key}` is missing"
    return key_problem(event["uuid"], event["eventType"], event["published"])


_TIMESTAMPS = re.compile(f"(?:{TIMESTAMP_PATTERN}\n)*{TIMESTAMP_PATTERN}", re.ASCII)
_OKTA_TIME = (  # Okta's form, on days 1-28 (valid in every month)
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z"
)
_OKTA_TIMES = re.compile(f"(?:{_OKTA_TIME}\n)*{_OKTA_TIME}")  # the common case, checked first


def json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
