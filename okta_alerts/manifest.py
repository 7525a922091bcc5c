"""The manifest: the list of sealed files readers may open, replaced atomically.

Written as a temp file, fsynced, then renamed over ``manifest.json``; readers (through
:func:`okta_alerts.reader.connect`) read it at the start of every query, so a query sees one
consistent set of files. Files dropped from it are *retired* and deleted after a grace period.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from okta_alerts.errors import StoreError
from okta_alerts.journal import fsync_dir

FORMAT = 1
NAME = "manifest.json"


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative to the events directory
    kind: str  # "segment" | "daily"
    rows: int
    bytes: int
    min_published: str
    max_published: str
    created_at: str
    day: str | None = None  # daily files: YYYY-MM-DD of every row's published
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

    @property
    def segments(self) -> list[FileEntry]:
        return [f for f in self.files if f.kind == "segment"]

    @property
    def daily(self) -> list[FileEntry]:
        return [f for f in self.files if f.kind == "daily"]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "format": FORMAT,
            "generation": self.generation,
            "next_seq": self.next_seq,
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
    if body.get("format") != FORMAT:
        raise StoreError(f"{path} has format {body.get('format')!r}; this version reads {FORMAT}")
    return Manifest(
        generation=body["generation"],
        next_seq=body.get("next_seq", 1),
        files=[FileEntry(**f) for f in body["files"]],
        retired=[Retired(**r) for r in body["retired"]],
    )


def write_manifest(events_dir: Path, manifest: Manifest) -> None:
    """Publish ``manifest`` atomically (temp file, fsync, rename, fsync the directory)."""
    manifest.generation += 1
    target = events_dir / NAME
    temp = events_dir / f".{NAME}.{os.getpid()}.tmp"
    with open(temp, "wb") as handle:
        handle.write(manifest.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    fsync_dir(events_dir)
