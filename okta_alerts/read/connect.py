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
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import orjson

from okta_alerts.config import load_settings
from okta_alerts.errors import StoreError
from okta_alerts.read.views import view_statements
from okta_alerts.store.layout import EMPTY_PARQUET, earlier_parts, write_empty_parquet
from okta_alerts.store.manifest import NAME as MANIFEST
from okta_alerts.store.manifest import PART

PART_KINDS = (PART, "daily")  # "daily": parts of a store written by an earlier release


class Snapshot:
    """A zero-row file with the stored columns, then the manifest's part list, re-read only when
    the manifest file changed. That file comes first so that every stored column binds, even
    when each part listed was written by an earlier release."""

    def __init__(self, events_dir: Path, empty_parquet: Path) -> None:
        self.events_dir = events_dir
        self.empty = empty_parquet
        self._stamp: tuple[int, int, int] | None = None
        self.parts: list[str] = []

    def refresh(self) -> list[str]:
        if not self.empty.exists():  # e.g. a temp dir cleaned while a connection stays open
            self.empty = _private_empty_parquet()
        path = self.events_dir / MANIFEST
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return [str(self.empty), *self.parts]
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            files = orjson.loads(path.read_bytes())["files"]
            parts = [f["path"] for f in files if f["kind"] in PART_KINDS]
            self.parts = [str(self.events_dir / part) for part in parts]
            self._stamp = stamp
        return [str(self.empty), *self.parts]


def connect(data_dir: Any = None) -> duckdb.DuckDBPyConnection:
    """Open a read-only connection over the sealed events in ``data_dir``."""
    if data_dir is None:
        data_dir = load_settings().data_dir
    events_dir = Path(data_dir).resolve() / "events"
    if events_dir.exists() and not events_dir.is_dir():
        raise StoreError(f"{events_dir} is not a directory")
    con = duckdb.connect(":memory:")
    for statement in ("SET TimeZone = 'UTC'", "SET parquet_metadata_cache = true"):
        con.execute(statement)
    # Inside a Jupyter kernel without ipywidgets DuckDB refuses this SET, but has already
    # turned its progress bar off there.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    empty = events_dir / EMPTY_PARQUET  # an earlier release may have written it
    if not empty.exists() or earlier_parts(con, [empty]):
        empty = _private_empty_parquet(con)
    snapshot = Snapshot(events_dir, empty)
    # By name only while the store holds a part of an earlier release: union_by_name opens every
    # part's footer whenever a query is bound. Parts written since have every column, so a
    # connection made without it stays right (unless an earlier release writes into this data
    # dir while it is open: its queries then fail, and connecting again mends that).
    by_name = bool(earlier_parts(con, snapshot.refresh()))
    con.create_function("okta_alerts_parts", snapshot.refresh, [], "VARCHAR[]", side_effects=False)
    for statement in view_statements(union_by_name=by_name):
        con.execute(statement)
    return con


_EMPTY: dict[str, Path] = {}


def _private_empty_parquet(con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """This process's zero-row file with the stored columns, in a temp dir: for a data dir with
    no store yet, or whose ``empty.parquet`` an earlier release wrote (readers never write)."""
    path = _EMPTY.get("file")
    if path is None or not path.exists():
        path = Path(tempfile.mkdtemp(prefix="okta-alerts-")) / EMPTY_PARQUET
        db = con or duckdb.connect()
        try:
            write_empty_parquet(db, path)
        finally:
            if con is None:
                db.close()
        _EMPTY["file"] = path
    return path
