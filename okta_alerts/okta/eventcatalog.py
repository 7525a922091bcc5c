"""Okta's Event Types catalog, as a data file kept in the package (docs/okta.md §6).

``event-types.json`` beside this module is a snapshot of the catalog Okta's developer docs
publish (``okta-event-types.csv`` in okta/okta-developer-docs; the file names the commit and the
day it was taken): every event type with whether it is **hook-eligible** (its tags include
``event-hook-eligible``) and the first sentence of its description. Okta adds types and makes
more of them eligible over time, so the catalog is a snapshot to refresh, not a contract: a type
it does not list is treated as not eligible (the System Log API still returns it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import orjson

CATALOG_FILE = "event-types.json"


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    hook_eligible: bool
    description: str


@dataclass(frozen=True)
class EventCatalog:
    """The snapshot: where it comes from, when it was taken, and its types by name."""

    source: Mapping[str, str]
    retrieved: str
    types: Mapping[str, EventType]

    def known(self, name: str) -> bool:
        return name in self.types

    def eligible(self, name: str) -> bool:
        """Whether Okta can deliver ``name`` by event hook (False for types it does not list)."""
        found = self.types.get(name)
        return found is not None and found.hook_eligible

    def family(self, prefix: str, suffixes: Iterable[str] = ()) -> tuple[str, ...]:
        """The listed types starting with ``prefix`` (and ending with one of ``suffixes``)."""
        ends = tuple(suffixes)
        return tuple(
            name
            for name in sorted(self.types)
            if name.startswith(prefix) and (not ends or name.endswith(ends))
        )

    def cite(self) -> str:
        """One line naming the source and the day of the snapshot."""
        return (
            f"Okta's Event Types catalog ({self.source['repo']} {self.source['path']} @ "
            f"{self.source['commit'][:12]}, retrieved {self.retrieved})"
        )


@functools.cache
def load_catalog() -> EventCatalog:
    """The catalog shipped with the package (read once per process)."""
    data = orjson.loads(files("okta_alerts.okta").joinpath(CATALOG_FILE).read_bytes())
    return catalog_from(data)


def catalog_from(data: Mapping[str, Any]) -> EventCatalog:
    types = {
        item["name"]: EventType(item["name"], bool(item["hook_eligible"]), item["description"])
        for item in data["event_types"]
    }
    return EventCatalog(dict(data["source"]), str(data["retrieved"]), types)
