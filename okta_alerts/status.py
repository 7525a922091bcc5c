"""What ``okta-alerts status`` reports about a data dir's store, without taking its lock."""

from __future__ import annotations

import fcntl
import time
from dataclasses import dataclass
from pathlib import Path

from okta_alerts.manifest import read_manifest


@dataclass(frozen=True)
class StoreStatus:
    events_dir: Path
    writer: str | None  # who holds the writer lock, None when nobody
    segments: int
    daily_files: int
    events: int
    bytes_on_disk: int
    newest_event: str | None
    oldest_event: str | None
    journals: int
    journal_bytes: int
    lag_seconds: float  # age of the oldest acknowledged data not yet sealed
    retired: int

    @property
    def bytes_per_event(self) -> float | None:
        return self.bytes_on_disk / self.events if self.events else None


def store_status(events_dir: Path) -> StoreStatus:
    manifest = read_manifest(events_dir)
    journals = sorted((events_dir / "journal").glob("*.ndjson")) if events_dir.exists() else []
    journals = [j for j in journals if j.stat().st_size > 0]
    oldest = min((j.stat().st_mtime for j in journals), default=None)
    return StoreStatus(
        events_dir=events_dir,
        writer=lock_holder(events_dir / "writer.lock"),
        segments=len(manifest.segments),
        daily_files=len(manifest.daily),
        events=manifest.rows,
        bytes_on_disk=sum(f.bytes for f in manifest.files),
        newest_event=max((f.max_published for f in manifest.files), default=None),
        oldest_event=min((f.min_published for f in manifest.files), default=None),
        journals=len(journals),
        journal_bytes=sum(j.stat().st_size for j in journals),
        lag_seconds=0.0 if oldest is None else max(0.0, time.time() - oldest),
        retired=len(manifest.retired),
    )


def lock_holder(path: Path) -> str | None:
    """Who holds the writer lock at ``path`` (its note), or None if it is free."""
    if not path.exists():
        return None
    with open(path, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
