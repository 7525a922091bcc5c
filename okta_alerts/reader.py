"""Read-only access: ``connect()`` gives a DuckDB connection with the contract's views.

The views never name files. They call ``okta_alerts_daily()``, ``okta_alerts_segments()`` and
``okta_alerts_excluded()``, which read the manifest when DuckDB binds each query. So a connection
held open for hours sees every newly sealed segment, never a replaced file, and one consistent
manifest per query (DuckDB binds ``okta_alerts_daily()`` first; the other two reuse the snapshot
it loaded). The receiver's journal is never opened; no file a reader opens is written again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import orjson

from okta_alerts.columns import COLUMN_NAMES, STORED_NAMES, extract_sql
from okta_alerts.errors import StoreError
from okta_alerts.eventtypes import LOCKOUT_TYPES, UNLOCK_TYPES, sql_list
from okta_alerts.hookhealth import HOOK_GAPS_VIEW
from okta_alerts.manifest import NAME as MANIFEST

VIEW_NAMES = ("events", "lockouts", "unlocks", "assignment_errors", "hook_gaps")


class Snapshot:
    """The manifest's file lists, re-read only when the manifest file changed."""

    def __init__(self, events_dir: Path, empty_parquet: Path, empty_ndjson: Path) -> None:
        self.events_dir = events_dir
        self._empty = ([str(empty_parquet)], [str(empty_ndjson)])
        self._stamp: tuple[int, int, int] | None = None
        self.daily, self.segments = self._empty
        self.excluded: list[str] = []
        self._previous_excluded: list[str] = []

    def refresh(self) -> list[str]:
        path = self.events_dir / MANIFEST
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return self.daily
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            body = orjson.loads(path.read_bytes())
            files = body["files"]
            daily = [str(self.events_dir / f["path"]) for f in files if f["kind"] == "daily"]
            segments = [str(self.events_dir / f["path"]) for f in files if f["kind"] == "segment"]
            self.daily = daily or self._empty[0]
            self.segments = segments or self._empty[1]
            # Exclusions name (uuid, record) pairs unique to one segment, so keeping the previous
            # snapshot's too is harmless and covers a query that binds across a manifest change.
            self._previous_excluded = self.excluded
            self.excluded = [
                f"{u} {r}" for f in files if f["kind"] == "segment" for u, r in f.get("exclude", [])
            ]
            self._stamp = stamp
        return self.daily

    def all_excluded(self) -> list[str]:
        return self.excluded + self._previous_excluded


def connect(data_dir: Any = None) -> duckdb.DuckDBPyConnection:
    """Open a read-only connection over the sealed events in ``data_dir``."""
    if data_dir is None:
        from okta_alerts.config import load_settings

        data_dir = load_settings().data_dir
    events_dir = Path(data_dir).resolve() / "events"
    if events_dir.exists() and not events_dir.is_dir():
        raise StoreError(f"{events_dir} is not a directory")
    empty_parquet, empty_ndjson = events_dir / "empty.parquet", events_dir / "empty.ndjson"
    if not (empty_parquet.exists() and empty_ndjson.exists()):
        empty_parquet, empty_ndjson = _private_empty_files()
    snapshot = Snapshot(events_dir, empty_parquet, empty_ndjson)
    con = duckdb.connect(":memory:")
    for statement in ("SET TimeZone = 'UTC'", "SET parquet_metadata_cache = true"):
        con.execute(statement)
    # Inside a Jupyter kernel without ipywidgets DuckDB refuses this SET, but has already
    # turned its progress bar off there.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    functions = (
        ("okta_alerts_daily", snapshot.refresh),
        ("okta_alerts_segments", lambda: snapshot.segments),
        ("okta_alerts_excluded", snapshot.all_excluded),
    )
    for name, function in functions:
        con.create_function(name, function, [], "VARCHAR[]", side_effects=False)
    for statement in view_statements():
        con.execute(statement)
    return con


def view_statements() -> list[str]:
    from okta_alerts.store import segment_source_of

    columns = ", ".join(STORED_NAMES)
    public = ", ".join(COLUMN_NAMES)
    segments = extract_sql(
        segment_source_of("okta_alerts_segments()"),
        keep=("_record",),
    )
    return [
        f"""CREATE VIEW _stored_events AS
SELECT {columns} FROM read_parquet(okta_alerts_daily())
UNION ALL
SELECT {columns} FROM ({segments})
WHERE (uuid || ' ' || _record) NOT IN (SELECT unnest(okta_alerts_excluded()))""",
        f"CREATE VIEW events AS SELECT {public} FROM _stored_events",
        f"CREATE VIEW lockouts AS SELECT * FROM events "
        f"WHERE event_type IN {sql_list(LOCKOUT_TYPES)}",
        f"CREATE VIEW unlocks AS SELECT * FROM events WHERE event_type IN {sql_list(UNLOCK_TYPES)}",
        _ASSIGNMENT_ERRORS,
        HOOK_GAPS_VIEW,
    ]


_ASSIGNMENT_ERRORS = """
CREATE VIEW assignment_errors AS
SELECT
  * EXCLUDE (_app_hint, _reason_hint, _assignment_error),
  coalesce(target_app_name, _app_hint) AS app_name,
  target_app_id AS app_id,
  coalesce(target_user_login, actor_alternate_id) AS user_login,
  coalesce(
    nullif(outcome_reason, ''),
    nullif(regexp_extract(display_message, 'failed: (.*)$', 1), ''),
    _reason_hint,
    display_message
  ) AS reason
FROM _stored_events
WHERE _assignment_error
"""

_EMPTY: dict[str, tuple[Path, Path]] = {}


def _private_empty_files() -> tuple[Path, Path]:
    """Zero-row files with the events schema, for a data dir that has no store yet."""
    if "files" not in _EMPTY:
        from okta_alerts.store import write_empty_parquet

        folder = Path(tempfile.mkdtemp(prefix="okta-alerts-"))
        parquet, ndjson = folder / "empty.parquet", folder / "empty.ndjson"
        ndjson.touch()
        con = duckdb.connect()
        write_empty_parquet(con, parquet)
        con.close()
        _EMPTY["files"] = (parquet, ndjson)
    return _EMPTY["files"]
