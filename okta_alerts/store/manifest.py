"""The manifest: the list of sealed files readers may open, replaced atomically.

Written as a temp file, fsynced, then renamed over ``manifest.json``; readers (through
:func:`okta_alerts.read.connect.connect`) read it at the start of every query, so a query sees
one consistent set of files. Files dropped from it are *retired* and deleted after a grace
period. Format 2 lists Parquet parts only; a format-1 store (daily files and NDJSON segments)
is read too, and its segments become parts when a writer next opens it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from okta_alerts.errors import StoreError
from okta_alerts.files import write_atomic

FORMAT = 2
NAME = "manifest.json"
PART = "part"  # a Parquet file with every column extracted: what readers read
SEGMENT = "segment"  # an earlier release's sealed journal (NDJSON), made a part on start


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative to the events directory
    kind: str  # SEGMENT | PART
    rows: int
    bytes: int
    min_published: str
    max_published: str
    created_at: str
    level: int = 0  # parts: how many merges made it (0: sealed from a journal)
    journal: int | None = None  # level-0 parts: the journal sealed into it
    exclude: list[list[str]] = field(default_factory=list)  # segments: [uuid, record] repeats


@dataclass(frozen=True, slots=True)
class Retired:
    path: str
    retired_at: float  # epoch seconds


@dataclass(slots=True)
class Manifest:
    generation: int = 0
    files: list[FileEntry] = field(default_factory=list)
    retired: list[Retired] = field(default_factory=list)
    next_seq: int = 1  # file numbers are never reused: a retired path may still be on disk
    sealed_through: int = 0  # the number of the last journal sealed (the uuid index agrees)
    expired_events: int = 0  # events past the retention that compaction dropped, all time

    @property
    def segments(self) -> list[FileEntry]:
        return [f for f in self.files if f.kind == SEGMENT]

    @property
    def parts(self) -> list[FileEntry]:
        return [f for f in self.files if f.kind == PART]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "format": FORMAT,
            "generation": self.generation,
            "next_seq": self.next_seq,
            "sealed_through": self.sealed_through,
            "expired_events": self.expired_events,
            "files": [asdict(f) for f in self.files],
            "retired": [asdict(r) for r in self.retired],
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2)


def read_manifest(events_dir: Path) -> Manifest:
    path = events_dir / NAME
    try:
        body = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return Manifest()
    except (OSError, orjson.JSONDecodeError) as exc:
        raise StoreError(f"cannot read {path}: {exc}; restore it from a backup") from None
    if body.get("format") not in (1, FORMAT):
        raise StoreError(f"{path} has format {body.get('format')!r}; this version reads {FORMAT}")
    return Manifest(
        generation=body["generation"],
        next_seq=body.get("next_seq", 1),
        sealed_through=body.get("sealed_through", 0),
        expired_events=body.get("expired_events", 0),
        files=[_entry(f) for f in body["files"]],
        retired=[Retired(**r) for r in body["retired"]],
    )


def _entry(raw: dict[str, Any]) -> FileEntry:
    """An entry of either format: format 1's daily files are level-0 parts."""
    values = {k: v for k, v in raw.items() if k in FileEntry.__dataclass_fields__}
    if values.get("kind") == "daily":
        values["kind"] = PART
    return FileEntry(**values)


def write_manifest(events_dir: Path, manifest: Manifest) -> None:
    """Publish ``manifest`` atomically (temp file, fsync, rename, fsync the directory)."""
    manifest.generation += 1
    write_atomic(events_dir / NAME, manifest.to_json())
