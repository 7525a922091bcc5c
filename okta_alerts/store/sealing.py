"""Sealing: a closed journal becomes a published Parquet part, each uuid stored once.

The journal's uuid index (``N.keys``, written beside it; rebuilt from the journal itself after a
crash or a failed write) is checked against every stored uuid (:mod:`okta_alerts.store.uuidindex`)
and against itself. One streaming DuckDB pass then extracts the columns of the journal's other
events (:mod:`okta_alerts.okta.columns`) into a level-0 part. The order makes a crash harmless:
the part is written and renamed into ``parts/``, its uuids go into the index, the manifest lists
it (naming the journal), and only then is the journal deleted. On start, a journal the manifest
already names is deleted; any other is sealed again after its index rows are forgotten.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from okta_alerts.errors import StoreError
from okta_alerts.files import fsync_dir, publish
from okta_alerts.okta.columns import STORED_NAMES, extract_sql
from okta_alerts.sql import literal
from okta_alerts.store.catalog import Catalog
from okta_alerts.store.layout import PARTS, segment_files
from okta_alerts.store.manifest import PART, FileEntry
from okta_alerts.store.uuidindex import UuidIndex

log = logging.getLogger("okta_alerts.store")

# Row groups bounded in rows and bytes: readers skip them by time; the writer buffers one.
# Level-0 parts are written fast (they are merged soon): see compaction for merged parts.
PART_PARQUET = (
    "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3, ROW_GROUP_SIZE 30720, "
    "ROW_GROUP_SIZE_BYTES '16MB'"
)


@dataclass(frozen=True, slots=True)
class SealResult:
    journal: str
    received: int
    stored: int
    seconds: float


def seal_journal(
    db: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    index: UuidIndex,
    journal: Path,
    rebuild_keys: bool,
) -> SealResult:
    """Publish ``journal`` as a level-0 part (see the module docstring)."""
    started = time.monotonic()
    number = int(journal.stem)
    keys_path = journal.with_suffix(".keys")
    if journal.stat().st_size == 0:
        _delete(journal, keys_path)
        return SealResult(journal.name, 0, 0, 0.0)
    if rebuild_keys or not keys_path.exists():
        db.execute(f"CREATE OR REPLACE TEMP TABLE k AS {_keys_from_journal(journal)}")
    else:
        db.execute(f"CREATE OR REPLACE TEMP TABLE k AS {_keys_from_index(keys_path)}")
    db.execute(
        "CREATE OR REPLACE TEMP TABLE k2 AS SELECT *, "
        "row_number() OVER (PARTITION BY uuid ORDER BY ord) > 1 AS repeat FROM k"
    )
    index.mark_repeats("k2")
    (received, repeats) = one_row(db, "SELECT count(*), count(*) FILTER (WHERE repeat) FROM k2")
    repeated = db.execute("SELECT uuid, record FROM k2 WHERE repeat").fetchall()
    excluded = [f"{u} {r}" for u, r in repeated]
    part = None
    if repeats < received:
        part = extract_part(db, catalog, journal, excluded)
        part = replace(part, journal=number) if part else None
        index.add("k2", number)
    catalog.commit(add=[part] if part else [], drop=[], sealed_through=number)
    _delete(journal, keys_path)
    db.execute("DROP TABLE k; DROP TABLE k2")
    stored = part.rows if part else 0
    return SealResult(journal.name, int(received), stored, time.monotonic() - started)


def extract_part(
    db: duckdb.DuckDBPyConnection, catalog: Catalog, journal: Path, excluded: list[str]
) -> FileEntry | None:
    """The events of a journal (or a segment of an earlier release), minus ``excluded``
    (uuid record) pairs, as a level-0 part: one pass, every column extracted once."""
    select = (
        f"SELECT {', '.join('f.' + n for n in STORED_NAMES)} "
        f"FROM ({extract_sql(segment_files([journal]), ('_record',))}) f "
        "WHERE (f.uuid || ' ' || f._record) NOT IN (SELECT unnest($x::VARCHAR[]))"
    )
    return write_part(db, catalog, select, {"x": excluded}, PART_PARQUET, level=0)


def write_part(
    db: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    select: str,
    params: dict[str, object],
    options: str,
    level: int,
    threads: int | None = None,
) -> FileEntry | None:
    """Write ``select`` as a new part, durably, on ``threads`` (default: the writer's); its
    manifest entry, or None when it is empty."""
    number = catalog.take_number()
    relative = f"{PARTS}/{number:012d}.parquet"
    temp = catalog.root / "tmp" / f"{number:012d}.parquet"
    copy_to(db, f"COPY ({select}) TO {literal(temp)} ({options})", params, threads)
    rows, low, high = one_row(
        db,
        "SELECT count(*), min(published), max(published) FROM read_parquet($p)",
        {"p": str(temp)},
    )
    if not rows:
        temp.unlink()
        return None
    publish(temp, catalog.root / relative)
    return catalog.entry(relative, PART, rows, low, high, level=level)


def copy_to(
    db: duckdb.DuckDBPyConnection,
    copy: str,
    params: dict[str, object],
    threads: int | None = None,
) -> None:
    """Run a COPY of the writer's, on ``threads`` (default: the writer's). Each thread writes
    its own row groups from the rows it read (not in one global order: twice as fast, and a row
    group still spans a short stretch of the input's time). One that runs out of the writer's
    memory on several threads is run again on one, which needs about a third less."""
    (configured,) = one_row(db, "SELECT current_setting('threads')")
    db.execute("SET preserve_insertion_order = false")
    try:
        if threads is not None:
            db.execute(f"SET threads = {int(threads)}")
        try:
            db.execute(copy, params)
        except duckdb.OutOfMemoryException as exc:
            if (threads or configured) == 1:
                raise
            message = str(exc).strip().splitlines()[0]
            log.warning("out of memory on several threads, again on one (%s)", message)
            db.execute("SET threads = 1")
            db.execute(copy, params)
    finally:
        db.execute(f"SET threads = {int(configured)}")
        db.execute("RESET preserve_insertion_order")


def _delete(journal: Path, keys: Path) -> None:
    journal.unlink(missing_ok=True)
    keys.unlink(missing_ok=True)
    fsync_dir(journal.parent)


def _keys_from_index(path: Path) -> str:
    return (
        f"SELECT uuid, coalesce(try_cast(published AS TIMESTAMPTZ), now()) AS published, record, "
        f"row_number() OVER () AS ord FROM read_csv({literal(path)}, delim='\\t', header=false, "
        f"quote='', escape='', "
        f"columns={{uuid: 'VARCHAR', published: 'VARCHAR', record: 'VARCHAR'}})"
    )


def _keys_from_journal(path: Path) -> str:
    return (
        f"SELECT raw->>'uuid' AS uuid, "
        f"coalesce(try_cast(raw->>'published' AS TIMESTAMPTZ), received_at) AS published, "
        f"_record AS record, row_number() OVER () AS ord FROM {segment_files([path])}"
    )


def one_row(
    db: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> Any:
    row = db.execute(sql, params or []).fetchone()
    if row is None:
        raise StoreError(f"no result from {sql[:60]}")
    return row
