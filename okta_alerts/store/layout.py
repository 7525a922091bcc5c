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
    empty.parquet             a zero-row file, for readers of earlier releases

Parts written by an earlier release may lack a column added since. Whatever reads parts as the
current schema lists them with a zero-row file of that schema, made once per process
(:func:`parts_source`, :func:`schema_parquet`): a column a part lacks reads as NULL.
``empty.parquet`` cannot serve: an earlier release may have written it.

Readers import this module and the manifest, never the writer.
"""

from __future__ import annotations

import tempfile
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
    """A zero-row file with the stored columns of this release."""
    db.execute(f"COPY ({extract_sql(EMPTY_SOURCE)}) TO {literal(path)} (FORMAT parquet)")


_SCHEMA: dict[str, Path] = {}


def schema_parquet() -> Path:
    """This process's zero-row file with the stored columns of this release (in a temp dir;
    made again if something cleaned it away)."""
    path = _SCHEMA.get("file")
    if path is None or not path.exists():
        path = Path(tempfile.mkdtemp(prefix="okta-alerts-")) / EMPTY_PARQUET
        con = duckdb.connect()
        try:
            write_empty_parquet(con, path)
        finally:
            con.close()
        _SCHEMA["file"] = path
    return path


def parts_source(parts: Iterable[str | Path]) -> str:
    """``read_parquet`` over ``parts`` as the stored columns of this release: a column a part
    of an earlier release lacks reads as NULL."""
    files = literal_list([*parts, schema_parquet()])
    return f"read_parquet({files}, union_by_name = true)"
