"""Okta event-hook deliveries and System Log events: strict envelope, tolerant events.

A delivery is accepted or rejected whole. The envelope and the three keys every event needs
(``uuid``, ``eventType``, ``published``) are checked strictly; everything else in an event is kept
as it came (the raw JSON is stored) and columns are extracted tolerantly when sealing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from okta_alerts.errors import DeliveryError

REQUIRED_KEYS = ("uuid", "eventType", "published")
MAX_UUID_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Batch:
    """Validated events ready for the journal: one journal record.

    Events inside one batch have distinct ``uuid`` values (``dedupe_events``).
    """

    delivery_id: str | None
    events: list[dict[str, Any]]

    def record(self, record_id: str, received_at: datetime | None = None) -> bytes:
        """The journal line for this batch (newline-terminated)."""
        when = (received_at or datetime.now(UTC)).isoformat()
        line = {
            "record": record_id,
            "delivery_id": self.delivery_id,
            "received_at": when,
            "events": self.events,
        }
        return orjson.dumps(line) + b"\n"

    def keys(self, record_id: str) -> bytes:
        """Index lines ``uuid<TAB>published<TAB>record`` for the writer's duplicate check."""
        return "".join(
            f"{e['uuid']}\t{e['published']}\t{record_id}\n" for e in self.events
        ).encode()


def dedupe_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats of a ``uuid`` inside one batch (the first one is kept)."""
    seen: set[str] = set()
    unique = []
    for event in events:
        if event["uuid"] not in seen:
            seen.add(event["uuid"])
            unique.append(event)
    return unique if len(unique) != len(events) else events


def parse_delivery(body: bytes) -> Batch:
    """Validate an event-hook POST body; raise :class:`DeliveryError` (status 400) if bad."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DeliveryError(400, "invalid_json", f"the body is not valid JSON ({exc})") from None
    if not isinstance(envelope, dict):
        raise DeliveryError(400, "invalid_envelope", "the body must be a JSON object")
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise DeliveryError(
            400, "invalid_envelope", "`data` must be an object with an `events` list"
        )
    events = data.get("events")
    if not isinstance(events, list):
        raise DeliveryError(400, "invalid_envelope", "`data.events` must be a list of events")
    for index, event in enumerate(events):
        problem = event_problem(event)
        if problem:
            raise DeliveryError(400, "invalid_event", f"data.events[{index}]: {problem}")
    delivery_id = envelope.get("eventId")
    return Batch(delivery_id if isinstance(delivery_id, str) else None, dedupe_events(events))


def event_problem(event: Any) -> str | None:
    """Why ``event`` cannot be stored, or None when it can."""
    if not isinstance(event, dict):
        return f"must be an object, not {_json_type(event)}"
    for key in REQUIRED_KEYS:
        value = event.get(key)
        if not isinstance(value, str) or not value.strip():
            if key not in event:
                return f"`{key}` is missing"
            return f"`{key}` must be a non-empty string, not {_json_type(value)}"
    uuid = event["uuid"]
    if len(uuid) > MAX_UUID_LENGTH or not uuid.isprintable() or " " in uuid:
        return f"`uuid` must be up to {MAX_UUID_LENGTH} printable characters without spaces"
    if not is_timestamp(event["published"]):
        return f"`published` must be an ISO-8601 time, not {event['published'][:40]!r}"
    return None


def is_timestamp(value: str) -> bool:
    """True for ISO-8601 date-times such as Okta's ``2023-03-28T17:03:37.093Z``."""
    if len(value) < 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return value.isprintable() and "\t" not in value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
