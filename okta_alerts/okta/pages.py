"""System Log pages and event files: each event checked on its own, bad ones counted, never fatal.

Okta's API (and a file someone exports from it) is the source of record, so one malformed event
must not hold up the rest: :func:`read_event` says why an event cannot be stored, and the caller
counts it and goes on. The rules are the receiver's — the three keys, one value per key, at most
:data:`MAX_EVENT_BYTES` — plus a nesting limit (:data:`MAX_NESTING`): these events may be handed
to a running receiver, re-encoded inside an envelope whose encoder stops at 254 levels.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from okta_alerts.okta.delivery import (
    MAX_EVENT_BYTES,
    TOO_DEEP,
    Batch,
    first_of_each_uuid,
    one_line,
)
from okta_alerts.okta.eventkeys import (
    DECODING,
    EVENT_DECODER,
    EventType,
    Published,
    Uuid,
    event_problem,
    fresh_lists,
    key_problem,
    keys_ok,
)
from okta_alerts.okta.jsonshape import deeper_than, repeated_event_key, split_array
from okta_alerts.okta.typednames import TypedNames

MAX_NESTING = 200  # levels of objects and arrays in one event (Okta's are under ten)


class Read(NamedTuple):
    """One event's keys as read (any JSON value: checked by the caller), and its actor."""

    uuid: Any
    event_type: Any
    published: Any
    actor: msgspec.Raw


def read_event(raw: bytes) -> Read | str:
    """The keys of one event given as JSON text, or why it cannot be stored (the keys' values
    are checked by the caller, many events at once)."""
    try:
        with DECODING:
            found = fresh_lists()
            event = EVENT_DECODER.decode(raw)
    except msgspec.ValidationError:
        return _why(raw)
    except msgspec.DecodeError as exc:
        return f"not valid JSON ({exc})"
    except RecursionError:
        return f"the event {TOO_DEEP}"
    if len(raw) > MAX_EVENT_BYTES:
        return f"the event is over {MAX_EVENT_BYTES} bytes"
    values = found[Uuid], found[EventType], found[Published]
    if any(len(found) != 1 for found in values):
        try:
            repeated = repeated_event_key(raw)
        except ValueError as exc:
            return f"the event cannot be read ({exc})"
        return f"`{repeated or 'a key'}` is given more than once"
    if deeper_than(raw, MAX_NESTING):
        return f"the event is nested deeper than {MAX_NESTING} levels"
    return Read(values[0][0], values[1][0], values[2][0], event.actor)


def _why(raw: bytes) -> str:
    """The message for an event whose keys msgspec refused: the one ``event_problem`` gives."""
    try:
        return event_problem(msgspec.json.decode(raw)) or "its keys cannot be read"
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return str(exc)
    except RecursionError:
        return f"the event {TOO_DEEP}"


class Checked:
    """Events that passed :func:`read_event`, their keys checked together; the rest counted.

    Keeps the bytes as given (line breaks made spaces), first copy of each ``uuid``.
    """

    __slots__ = ("_actors", "_places", "_types", "bad", "keys", "problems", "raw", "valid")

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.keys: list[tuple[str, str]] = []
        self.problems: list[tuple[int, str]] = []  # (position among the items, why)
        self.bad = 0
        self.valid = 0  # events that passed, repeats of a uuid included
        self._types: list[str] = []
        self._actors: list[msgspec.Raw] = []
        self._places: list[int] = []

    @property
    def size(self) -> int:
        return len(self.raw)

    def add(self, place: int, raw: bytes) -> None:
        found = read_event(raw)
        if isinstance(found, str):
            self._bad(place, found)
            return
        self.raw.append(raw)
        self.keys.append((found.uuid, found.published))
        self._types.append(found.event_type)
        self._actors.append(found.actor)
        self._places.append(place)

    def finish(self, typed: TypedNames | None) -> None:
        """Check the keys of everything added, hash typed names, keep one copy of each uuid."""
        if not keys_ok([u for u, _ in self.keys], self._types, [p for _, p in self.keys]):
            good = []
            for index, (key, event_type) in enumerate(zip(self.keys, self._types, strict=True)):
                problem = key_problem(key[0], event_type, key[1])
                if problem is None:
                    good.append(index)
                else:
                    self._bad(self._places[index], problem)
            self._keep(good)
        if typed is not None:
            self._hash(typed)
        self.valid = len(self.raw)
        if len({uuid for uuid, _ in self.keys}) != len(self.keys):
            self.raw, self.keys = first_of_each_uuid(self.raw, self.keys)
        self.problems.sort()

    def _hash(self, typed: TypedNames) -> None:
        try:
            typed.rewrite(self.raw, self._actors)
        except RecursionError:  # kept only the events that could be rewritten
            good = []
            for index in range(len(self.raw)):
                one = [self.raw[index]]
                try:
                    typed.rewrite(one, [self._actors[index]])
                except RecursionError:
                    self._bad(self._places[index], f"the event {TOO_DEEP}")
                    continue
                self.raw[index] = one[0]
                good.append(index)
            self._keep(good)

    def _keep(self, indexes: list[int]) -> None:
        self.raw = [self.raw[i] for i in indexes]
        self.keys = [self.keys[i] for i in indexes]
        self._types = [self._types[i] for i in indexes]
        self._actors = [self._actors[i] for i in indexes]
        self._places = [self._places[i] for i in indexes]

    def _bad(self, place: int, why: str) -> None:
        self.bad += 1
        self.problems.append((place, why))


_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


def array_items(text: bytes) -> list[bytes] | str:
    """The items of a JSON array as text, or why ``text`` is not one. An item nested deeper than
    the decoder follows does not spoil the others: they are then split by a flat scan."""
    try:
        return [bytes(item) for item in _ITEMS.decode(text)]
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return str(exc)
    except RecursionError:
        items = split_array(text)
        return f"it {TOO_DEEP}" if items is None else items


class PageEvents:
    """A System Log page (a JSON array of LogEvents) checked like a delivery, but tolerantly.

    A malformed event is counted in ``bad`` and skipped. Good events are kept as the bytes Okta
    sent (no Python objects are built for them; an unknown actor's typed name hashed when
    ``typed`` is given), repeats of a ``uuid`` inside the page are dropped.
    """

    __slots__ = ("bad", "keys", "raw", "size")

    def __init__(self, body: bytes, typed: TypedNames | None = None) -> None:
        """Raise :class:`ValueError` when ``body`` is not a JSON array."""
        items = array_items(one_line(body))
        if isinstance(items, str):
            raise ValueError(f"not a JSON array of events ({items})")
        self.size = len(items)
        checked = Checked()
        for place, item in enumerate(items):
            checked.add(place, item)
        checked.finish(typed)
        self.bad = checked.bad  # not an object, a key missing, bad or repeated, too big or deep
        self.raw, self.keys = checked.raw, checked.keys

    @property
    def last_published(self) -> str | None:
        return self.keys[-1][1] if self.keys else None

    def batch(self, delivery_id: str | None) -> Batch:
        return Batch(delivery_id, raw=self.raw, keys=self.keys)
