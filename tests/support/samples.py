"""Published Okta LogEvents (``tests/data/okta-samples``, sources and licences in its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "okta-samples"


def sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.json"))


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample(name: str, **replace: Any) -> dict[str, Any]:
    """The sample as a dict, with ``replace`` set on top (a ``uuid`` or ``published`` the sample
    lacks or has only as a placeholder such as ``"redacted"``)."""
    event: dict[str, Any] = orjson.loads(sample_bytes(name))
    event.update(replace)
    return event


def storable(name: str, number: int) -> dict[str, Any]:
    """The sample with a unique ``uuid`` and, where it has none or ``"redacted"``, a
    ``published``: what the tests store."""
    event = sample(name, uuid=f"sample-{number}")
    if event.get("published") in (None, "redacted"):
        event["published"] = "2026-11-28T12:00:00.000Z"
    return event
