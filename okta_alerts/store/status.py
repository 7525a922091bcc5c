"""What ``okta-alerts status`` reports about a data dir's store, without taking its lock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from okta_alerts.files import lock_holder
from okta_alerts.sql import literal_list
from okta_alerts.store.layout import WRITER_LOCK
from okta_alerts.store.manifest import Manifest, read_manifest

FUTURE_AFTER = timedelta(days=1)  # an event dated further ahead than this is "in the future"


@dataclass(frozen=True)
class StoreStatus:
    events_dir: Path
    writer: str | None  # who holds the writer lock, None when nobody
    parts: int
    events: int
    bytes_on_disk: int
    newest_event: str | None
    oldest_event: str | None
    journals: int
    journal_bytes: int
    lag_seconds: float  # age of the oldest acknowledged data not yet sealed
    retired: int
    expired_events: int  # dropped by compaction for being older than the retention
    future_events: int  # stored events dated more than FUTURE_AFTER ahead of now

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
        writer=lock_holder(events_dir / WRITER_LOCK),
        parts=len(manifest.parts),
        events=manifest.rows,
        bytes_on_disk=sum(f.bytes for f in manifest.files),
        newest_event=max((f.max_published for f in manifest.files), default=None),
        oldest_event=min((f.min_published for f in manifest.files), default=None),
        journals=len(journals),
        journal_bytes=sum(j.stat().st_size for j in journals),
        lag_seconds=0.0 if oldest is None else max(0.0, time.time() - oldest),
        retired=len(manifest.retired),
        expired_events=manifest.expired_events,
        future_events=count_future(events_dir, manifest, datetime.now(UTC) + FUTURE_AFTER),
    )


def count_future(events_dir: Path, manifest: Manifest, after: datetime) -> int:
    """Stored events published after ``after``: only the parts whose range reaches it are read."""
    files = [events_dir / f.path for f in manifest.parts if f.max_published > after.isoformat()]
    if not files:
        return 0
    con = duckdb.connect(config={"threads": 1})
    try:
        row = con.execute(
            f"SELECT count(*) FROM read_parquet({literal_list(files)}, union_by_name = true) "
            "WHERE published > $after",
            {"after": after},
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0
