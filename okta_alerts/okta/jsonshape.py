"""Careful looks at one JSON text, for the rare case a fast check flags it.

- **Repeated names**: Python's ``json`` with an ``object_pairs_hook`` sees every name of every
  object, escaped spellings (``"uu\\u0069d"``) included, which msgspec and DuckDB read without
  telling. Only run when the counting decoders (:mod:`okta_alerts.okta.eventkeys`) saw a key more
  often than once per event, or could not place the events: a few milliseconds for a delivery.
- **Nesting depth**: counted over the brackets outside strings, after a count of all brackets
  (a C-level pass) showed the event could be that deep at all.
- **Array items without recursion**: a page or file whose one item nests deeper than the decoder
  follows is split into its items by a flat scan, so only that item is refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

from okta_alerts.okta.eventkeys import REQUIRED_KEYS

ENVELOPE_KEYS = ("data", "eventId")  # and `events` inside `data`


class _Members(dict[str, Any]):
    """A JSON object (the last value of a repeated name, as msgspec keeps it) and the names it
    repeats."""

    __slots__ = ("repeated",)
    repeated: frozenset[str]


_NONE: frozenset[str] = frozenset()


def _members(pairs: list[tuple[str, Any]]) -> _Members:
    found = _Members(pairs)
    if len(found) == len(pairs):
        found.repeated = _NONE
    else:
        seen: set[str] = set()
        found.repeated = frozenset(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return found


def _zero(_: str) -> int:
    return 0  # numbers are not needed here: skip converting them (and Python's digit limit)


_SKIP_NUMBERS: dict[str, Any] = {"parse_int": _zero, "parse_float": _zero, "parse_constant": _zero}


def _parse(text: bytes) -> Any:
    """``text`` decoded with every object's repeated names noted; ValueError if unreadable."""
    try:
        return json.loads(text, object_pairs_hook=_members, **_SKIP_NUMBERS)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _first(repeated: frozenset[str], keys: tuple[str, ...]) -> str | None:
    return next((key for key in keys if key in repeated), None)


def repeated_event_key(text: bytes) -> str | None:
    """The first of ``uuid``, ``eventType``, ``published`` the event gives more than once."""
    event = _parse(text)
    return _first(event.repeated, REQUIRED_KEYS) if isinstance(event, _Members) else None


def repeated_delivery_key(body: bytes) -> str | None:
    """Where a hook delivery repeats a name the receiver reads: ``data``, ``eventId``,
    ``data.events`` or ``data.events[i].<key>``; None when it repeats none."""
    envelope = _parse(body)
    if not isinstance(envelope, _Members):
        return None
    if found := _first(envelope.repeated, ENVELOPE_KEYS):
        return found
    data = envelope.get("data")
    if not isinstance(data, _Members):
        return None
    if "events" in data.repeated:
        return "data.events"
    events = data.get("events")
    for index, event in enumerate(events if isinstance(events, list) else []):
        if isinstance(event, _Members) and (found := _first(event.repeated, REQUIRED_KEYS)):
            return f"data.events[{index}].{found}"
    return None


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def deeper_than(text: bytes, limit: int) -> bool:
    """Whether the JSON ``text`` nests objects and arrays more than ``limit`` levels deep."""
    if text.count(b"{") + text.count(b"[") <= limit:
        return False  # the common case: too few brackets to be that deep
    depth = 0
    for byte in _STRING.sub(b"", text).translate(None, _NOT_BRACKETS):
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[][{},]', re.DOTALL)
_OPEN, _CLOSE, _QUOTE = frozenset(b"[{"), frozenset(b"]}"), ord('"')


def split_array(text: bytes) -> list[bytes] | None:
    """The items of the JSON array ``text``, as text, found by a flat scan that any depth of
    nesting cannot exhaust; None when ``text`` is not one array. Items are not validated."""
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] != b"[":
        return None
    depth, first, items = 0, start + 1, []
    for token in _TOKENS.finditer(text, start):
        byte = text[token.start()]
        if byte == _QUOTE:
            continue
        if byte in _OPEN:
            depth += 1
        elif byte in _CLOSE:
            depth -= 1
            if depth == 0:
                items.append(text[first : token.start()].strip())
                if text[token.end() :].strip():
                    return None
                return [] if items == [b""] else items
        elif depth == 1:  # a comma between items
            items.append(text[first : token.start()].strip())
            first = token.end()
    return None
