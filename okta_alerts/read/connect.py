"""Read-only access: ``connect()`` gives a DuckDB connection with the contract's views.

The views (:mod:`okta_alerts.read.views`) never name files. They read the Parquet parts that
``okta_alerts_parts()`` lists: a Python function that reads the manifest when DuckDB binds each
query. So a connection held open for hours sees every newly sealed part, never a replaced file,
and one consistent manifest per query. The writer's journal and its private files are never
opened; no file a reader opens is written again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import duckdb
import orjson

from okta_alerts.config import load_settings
from okta_alerts.errors import StoreError
from okta_alerts.read.views import view_statements
from okta_alerts.store.layout import schema_parquet
from okta_alerts.store.manifest import NAME as MANIFEST
from okta_alerts.store.manifest import PART

PART_KINDS = (PART, "daily")  # "daily": parts of a store written by an earlier release


class Snapshot:
    """The manifest's part list, re-read only when the manifest file changed, and a zero-row
    file of the current schema: the views bind every stored column even when each part listed
    was written by an earlier release (:func:`okta_alerts.store.layout.schema_parquet`)."""

    def __init__(self, events_dir: Path) -> None:
        self.events_dir = events_dir
        self._stamp: tuple[int, int, int] | None = None
        self.parts: list[str] = []

    def refresh(self) -> list[str]:
        path = self.events_dir / MANIFEST
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return [*self.parts, str(schema_parquet())]
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            files = orjson.loads(path.read_bytes())["files"]
            self.parts = [
                str(self.events_dir / f["path"]) for f in files if f["kind"] in PART_KINDS
            ]
            self._stamp = stamp
        return [*self.parts, str(schema_parquet())]


def connect(data_dir: Any = None) -> duckdb.DuckDBPyConnection:
    """Open a read-only connection over the sealed events in ``data_dir``."""
    if data_dir is None:
        data_dir = load_settings().data_dir
    events_dir = Path(data_dir).resolve() / "events"
    if events_dir.exists() and not events_dir.is_dir():
        raise StoreError(f"{events_dir} is not a directory")
    snapshot = Snapshot(events_dir)
    con = duckdb.connect(":memory:")
    for statement in ("SET TimeZone = 'UTC'", "SET parquet_metadata_cache = true"):
        con.execute(statement)
    # Inside a Jupyter kernel without ipywidgets DuckDB refuses this SET, but has already
    # turned its progress bar off there.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    con.create_function("okta_alerts_parts", snapshot.refresh, [], "VARCHAR[]", side_effects=False)
    for statement in view_statements():
        con.execute(statement)
    return con
