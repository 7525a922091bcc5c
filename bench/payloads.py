"""Hook deliveries for the load generator: simulator templates with slots that wrk's Lua fills.

Each template is one event-hook delivery of 50 realistic LogEvents (``okta_alerts.sim.simulate``)
serialized once, with three kinds of one-byte slots that ``bench/hookload.lua`` (and
:func:`render`, its Python mirror) replaces on every request, so that every delivery is unique:

- ``SLOT_ID`` ends each event's ``uuid`` and the envelope's ``eventId`` with ``TTT-CCCCCCCCCCCC``
  (the wrk thread and its request counter, hex): ids differ per request and per thread;
- ``SLOT_PUBLISHED`` is a whole ``published`` timestamp (the request's second, a random
  millisecond), so that stored rows sorted by time interleave different templates as real
  traffic does instead of lining up identical copies.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from okta_alerts.sim.simulate import batch_deliveries, generate_events

SLOT_ID = b"\x01"
SLOT_PUBLISHED = b"\x02"
EVENTS_PER_DELIVERY = 50
TEMPLATE_COUNT = 128
ID_SUFFIX_LENGTH = len("TTT-CCCCCCCCCCCC")
PUBLISHED_LENGTH = len("2026-01-01T00:00:00.000Z")
SCENARIOS = ("lockout-storm", "password-spray", "provisioning-outage")
_ID_MARK = "@@bench-id@@"
_PUBLISHED_MARK = "@@bench-published@@"


def build_templates(
    seed: int, count: int = TEMPLATE_COUNT, per_delivery: int = EVENTS_PER_DELIVERY
) -> list[bytes]:
    """``count`` delivery bodies of ``per_delivery`` distinct simulated events, with slots."""
    start = datetime(2026, 1, 5, tzinfo=UTC)
    events = generate_events(
        seed, start, start + timedelta(days=2), SCENARIOS, rate_per_hour=4000, users=2000
    )
    envelope = next(batch_deliveries(iter([next(iter(events))]), seed))
    run = f"{seed & 0xFFFFFFFF:08x}"
    templates = []
    for number in range(count):
        chunk = list(itertools.islice(events, per_delivery))
        if len(chunk) < per_delivery:
            raise RuntimeError("the simulator produced too few events for the templates")
        body = dict(envelope, eventId=f"{run}-{number:04x}-4fff-8{_ID_MARK}")
        body["data"] = {"events": [_with_slots(e, run, number, i) for i, e in enumerate(chunk)]}
        raw = orjson.dumps(body)
        if raw.count(_ID_MARK.encode()) != per_delivery + 1:
            raise RuntimeError("a template's id slots are ambiguous")
        templates.append(
            raw.replace(_ID_MARK.encode(), SLOT_ID).replace(
                f'"{_PUBLISHED_MARK}"'.encode(), b'"' + SLOT_PUBLISHED + b'"'
            )
        )
    return templates


def _with_slots(event: dict[str, Any], run: str, template: int, index: int) -> dict[str, Any]:
    return dict(
        event, uuid=f"{run}-{template:04x}-4{index:03x}-8{_ID_MARK}", published=_PUBLISHED_MARK
    )


def write_templates(templates: list[bytes], path: Path) -> Path:
    """One template per line (JSON from orjson never holds a raw newline or control byte)."""
    path.write_bytes(b"\n".join(templates) + b"\n")
    return path


def id_suffix(thread: int, counter: int) -> str:
    return f"{thread:03x}-{counter:012x}"


def render(template: bytes, thread: int, counter: int, published: str) -> bytes:
    """The delivery body ``bench/hookload.lua`` sends for this thread and request counter."""
    if len(published) != PUBLISHED_LENGTH:
        raise ValueError(f"published must look like 2026-01-01T00:00:00.000Z, not {published!r}")
    suffix = id_suffix(thread, counter).encode()
    return template.replace(SLOT_ID, suffix).replace(SLOT_PUBLISHED, published.encode())


def ndjson_bytes_per_event(templates: list[bytes]) -> float:
    """Mean size of one event as an NDJSON line (what Okta's System Log API export looks like)."""
    sizes = [
        len(orjson.dumps(event)) + 1
        for template in templates
        for event in orjson.loads(render(template, 0, 0, "2026-01-05T12:00:00.000Z"))["data"][
            "events"
        ]
    ]
    return sum(sizes) / len(sizes)
