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
    empty.parquet             a zero-row file readers open when nothing is published yet

Readers import this module and the manifest, never the writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from okta_alerts.okta.columns import extract_sql
from okta_alerts.okta.delivery import MAX_EVENT_BYTES
from okta_alerts.sql import literal, literal_list

WRITER_LOCK = "writer.lock"
PARTS = "parts"
INDEX_DB = "index.duckdb"
EMPTY_PARQUET = "empty.parquet"
MAX_LINE_BYTES = MAX_EVENT_BYTES + 4096  # one event and its record header

# The columns of a journal line, as a relation (see :func:`segment_source`).
EMPTY_SOURCE = (
    "(SELECT NULL::VARCHAR AS _record, NULL::VARCHAR AS delivery_id, "
    "NULL::TIMESTAMPTZ AS received_at, NULL::JSON AS raw LIMIT 0)"
)


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
    """A zero-row file with the stored columns: what readers open when nothing is sealed."""
    db.execute(f"COPY ({extract_sql(EMPTY_SOURCE)}) TO {literal(path)} (FORMAT parquet)")
