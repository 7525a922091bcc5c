"""The store's on-disk layout, shared by the writer and the readers.

Under ``<data_dir>/events``::

    writer.lock               held (flock) by the one writer; names who holds it
    journal/N.ndjson          the hot file: one line per event of each accepted batch, fsynced
                              before the ack; private to the writer
    journal/N.keys            uuid, published, record of each event (rebuilt after a crash)
    parts/N.parquet           Parquet parts: every column extracted, zstd, close to arrival order;
                              sealing makes one per journal, compaction merges them
    manifest.json             what readers may open (:mod:`okta_alerts.store.manifest`)
    index.duckdb              the writer's private DuckDB file: every stored uuid
    empty.parquet             a zero-row file with the stored columns: the schema parts are read as

Parts written by an earlier release may lack a column added since (``_reason_key``), and so may
an ``empty.parquet`` it wrote: the writer writes that file again on start when it lacks one.
Whatever reads parts as the current schema lists them with a zero-row file of that schema, by
name (``union_by_name``): a column a part lacks reads as NULL. The writer always does
(:func:`parts_source`); readers only while :func:`earlier_parts` finds such a part, because
``union_by_name`` opens the footer of every file listed each time a query is bound.

Readers import this module and the manifest, never the writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from okta_alerts.okta.columns import COLUMNS, HINTS, STORED_NAMES
from okta_alerts.okta.delivery import MAX_EVENT_BYTES
from okta_alerts.sql import literal, literal_list

WRITER_LOCK = "writer.lock"
PARTS = "parts"
INDEX_DB = "index.duckdb"
EMPTY_PARQUET = "empty.parquet"
MAX_LINE_BYTES = MAX_EVENT_BYTES + 4096  # one event and its record header


def segment_source(files: str) -> str:
    """A relation of (_record, delivery_id, received_at, raw) over journal or segment files;
    ``files`` is any SQL expression of a list of paths (a literal, a table function call)."""
    return (
        f"(SELECT record AS _record, delivery_id, received_at, event AS raw "
        f"FROM read_ndjson({files}, columns={{record: 'VARCHAR', "
        f"delivery_id: 'VARCHAR', received_at: 'TIMESTAMPTZ', event: 'JSON'}}, "
        f"format='newline_delimited', maximum_object_size={MAX_LINE_BYTES}))"
    )


def segment_files(paths: Iterable[str | Path]) -> str:
    """:func:`segment_source` over these files."""
    return segment_source(literal_list(paths))


def write_empty_parquet(db: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A zero-row file with the stored columns of this release, typed as sealing writes them."""
    select = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind, _ in COLUMNS + HINTS)
    db.execute(f"COPY (SELECT {select} LIMIT 0) TO {literal(path)} (FORMAT parquet)")


def parts_source(parts: Iterable[str | Path], empty: str | Path) -> str:
    """``read_parquet`` over ``parts`` as the stored columns of this release (``empty``: a
    zero-row file of them): a column a part of an earlier release lacks reads as NULL."""
    files = literal_list([*parts, empty])
    return f"read_parquet({files}, union_by_name = true)"


def earlier_parts(db: duckdb.DuckDBPyConnection, files: Iterable[str | Path]) -> list[str]:
    """The files among ``files`` that lack a stored column of this release: parts written by an
    earlier release. Reads their footers (which ``db`` keeps under ``parquet_metadata_cache``)."""
    files = [str(f) for f in files]
    if not files:
        return []
    rows = db.execute(
        "SELECT file_name FROM parquet_schema($files) GROUP BY file_name "
        "HAVING NOT list_has_all(list(name), $names::VARCHAR[])",
        {"files": files, "names": list(STORED_NAMES)},
    ).fetchall()
    return [name for (name,) in rows]
