"""Compaction: parts merged into fewer, larger ones, and the retention applied.

Sealing makes one part per journal, of whatever size the rate gave it. Parts are grouped into
size tiers (``FANOUT`` times apart, from ``TIER_ROWS``); when a tier holds ``FANOUT`` parts, all
of them, oldest first, are merged into one (Parquet to Parquet: nothing is parsed again), until a
part holds ``FULL_ROWS``. So a part is rewritten about once per tier it climbs: a bulk load of
large journals is merged once, a trickle of small ones a few times while they are small, and
readers open few files whatever the history. Inputs are read oldest first, and each thread
writes row groups from the stretch it read, so row-group statistics stay narrow (in the bench's
store, about a day of events each) and a query over a window reads little more than the window.
A part whose newest event is past ``retention_days`` is dropped; one that holds some is
rewritten without them; the events dropped are counted in the manifest. The manifest swaps old
files for new ones in one write, and the old ones are deleted after the grace period. Parts are
read as the current schema (:func:`okta_alerts.store.layout.parts_source`, with the
``empty.parquet`` the writer keeps current): rows of a part written by an earlier release keep
NULL in a column it lacks (``_reason_key``: the view computes the key of those rows).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from okta_alerts.okta.columns import STORED_NAMES
from okta_alerts.sql import literal
from okta_alerts.store.catalog import Catalog
from okta_alerts.store.layout import EMPTY_PARQUET, parts_source
from okta_alerts.store.manifest import FileEntry
from okta_alerts.store.sealing import one_row, write_part
from okta_alerts.store.uuidindex import UuidIndex

FANOUT = 4  # a tier's parts are merged when it holds this many; tiers are this factor apart
TIER_ROWS = 4096  # parts under FANOUT * TIER_ROWS rows are the lowest tier
FULL_ROWS = 2_000_000  # a part this big is not merged again
# Merged parts are written on one thread with row groups of up to 30,720 events (the raw JSON
# makes one about 70 MB in memory): a third larger row groups than two threads could fit in the
# writer's memory, so a reader's scan does about half the work per event, and about 10% smaller
# on disk. Merges run behind sealing, so the one thread costs little.
MERGED_PARQUET = (
    "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3, ROW_GROUP_SIZE 30720, "
    "ROW_GROUP_SIZE_BYTES '80MB'"
)
MERGE_THREADS = 1
COLUMNS = ", ".join(STORED_NAMES)


def compact(
    db: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    index: UuidIndex,
    now: datetime,
    retention_days: int,
) -> int:
    """Merge parts and apply the retention; return the files replaced."""
    return _merge(db, catalog) + _expire(db, catalog, index, now - timedelta(days=retention_days))


def _merge(db: duckdb.DuckDBPyConnection, catalog: Catalog) -> int:
    """Merge the parts of the smallest tier holding ``FANOUT``, oldest first, while any does."""
    replaced = 0
    while group := mergeable(catalog.manifest.parts):
        inputs = sorted(group, key=lambda f: f.min_published)  # rows stay close to time order
        source = parts_source((catalog.root / f.path for f in inputs), catalog.root / EMPTY_PARQUET)
        select = f"SELECT {COLUMNS} FROM {source}"
        level = max(f.level for f in group) + 1
        part = write_part(db, catalog, select, {}, MERGED_PARQUET, level, MERGE_THREADS)
        catalog.commit(add=[part] if part else [], drop=group)
        replaced += len(group)
    return replaced


def mergeable(parts: list[FileEntry]) -> list[FileEntry]:
    """Every part, oldest first, of the smallest tier that holds ``FANOUT`` (not full ones, and
    no more than make ``FULL_ROWS``)."""
    tiers: dict[int, list[FileEntry]] = {}
    for part in parts:
        if part.rows < FULL_ROWS:
            tiers.setdefault(tier(part.rows), []).append(part)
    for number in sorted(tiers):
        if len(tiers[number]) < FANOUT:
            continue
        group, rows = [], 0
        for part in sorted(tiers[number], key=lambda f: Path(f.path).stem):
            if rows + part.rows > FULL_ROWS:
                break
            group.append(part)
            rows += part.rows
        if len(group) > 1:
            return group
    return []


def tier(rows: int) -> int:
    """0 under ``FANOUT * TIER_ROWS`` rows, then one more each time the size grows ``FANOUT``
    times."""
    number, bound = 0, TIER_ROWS * FANOUT
    while rows >= bound:
        number, bound = number + 1, bound * FANOUT
    return number


def _expire(
    db: duckdb.DuckDBPyConnection, catalog: Catalog, index: UuidIndex, cutoff: datetime
) -> int:
    """Drop or trim the parts that hold events published before ``cutoff``."""
    stale = [f for f in catalog.manifest.parts if f.min_published < cutoff.isoformat()]
    for part in stale:
        path = catalog.root / part.path
        (expired,) = one_row(
            db,
            f"SELECT count(*) FROM read_parquet({literal(path)}) WHERE published < $c",
            {"c": cutoff},
        )
        kept = None
        if expired < part.rows:
            source = parts_source([path], catalog.root / EMPTY_PARQUET)
            select = f"SELECT {COLUMNS} FROM {source} WHERE published >= $c"
            kept = write_part(
                db, catalog, select, {"c": cutoff}, MERGED_PARQUET, part.level, MERGE_THREADS
            )
        catalog.commit(add=[kept] if kept else [], drop=[part], expired=int(expired))
    if stale:
        index.expire(cutoff.date().isoformat())
    return len(stale)
