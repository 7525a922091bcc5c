"""The reason key stored when a journal is sealed, and parts of an earlier release without it.

Sealing stores ``_reason_key`` beside the hints; the ``assignment_errors`` view reads it, and
computes the key of rows whose part lacks it. A part "of an earlier release" here is a sealed
part rewritten without that column under the same name, as a store upgraded in place holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

import okta_alerts
from okta_alerts.config import Settings
from okta_alerts.okta.columns import COLUMN_NAMES
from okta_alerts.okta.delivery import Batch
from okta_alerts.okta.reasons import reason_key_sql, reason_sql
from okta_alerts.read.views import VIEW_NAMES
from okta_alerts.sql import literal
from okta_alerts.store import compaction
from okta_alerts.store.manifest import read_manifest
from okta_alerts.store.writer import StoreWriter, open_writer
from tests.support.factories import make_event
from tests.support.settings import make_settings
from tests.test_reason_key import O365, PUSH, SAME_CAUSE, USERS

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PUSH_TYPE = "application.provision.user.push"
KEY_OF_COLUMNS = reason_key_sql(reason_sql("outcome_reason", "display_message", "_reason_hint"))


def errors(start: datetime, tag: str) -> list[dict[str, Any]]:
    """Assignment errors with reasons shaped like Okta's, in each of the three places Okta
    puts one (outcome reason, display message, debugData), then other events."""
    events = [
        make_event(PUSH_TYPE, start, uuid=f"{tag}-{n}-{u}", result="FAILURE", app="Salesforce.com",
                   reason=template.format(name=name, login=login), user=login)
        for n, template in enumerate(SAME_CAUSE)
        for u, (name, login) in enumerate(USERS)
    ]  # fmt: skip
    o365 = O365.format(name="John Doe", request="3f1c2a3b-1111-4e2d-9abc-0123456789ab",
                       request2="0a1b2c3d-2222-4e2d-9abc-0123456789ab",
                       stamp="Tue, 01 Nov 2022 15:52:08 GMT",
                       request3="4f9a0c1e-3333-4e2d-9abc-0123456789ab")  # fmt: skip
    events += [
        make_event(PUSH_TYPE, start, uuid=f"{tag}-o365", result="FAILURE", reason=o365),
        make_event(PUSH_TYPE, start, uuid=f"{tag}-message", result="FAILURE", reason="",
                   display_message=PUSH.format(name="Jane Roe") + "Matching user not found."),
        make_event("application.integration.rate_limit_exceeded", start, uuid=f"{tag}-debug",
                   result="FAILURE", display_message="Rate limit exceeded", app="Box",
                   debugContext={"debugData": {"appname": "box", "errorMessage":
                                 "Error while creating user 00u1abcdEFGH2345ijk7 : Conflict"}}),
    ]  # fmt: skip
    events += [
        make_event(PUSH_TYPE, start, uuid=f"{tag}-pushed", reason="Matching user found."),
        make_event("user.account.lock", start, uuid=f"{tag}-lock", result="FAILURE",
                   reason="LOCKED_OUT"),
        make_event(published=start, uuid=f"{tag}-login"),
    ]  # fmt: skip
    return events


ERRORS = len(SAME_CAUSE) * len(USERS) + 3  # per call of errors()


def seal(writer: StoreWriter, batch: Batch) -> None:
    writer.append_batch(batch)
    path = writer.rotate()
    assert path is not None
    writer.seal(path)


def part_files(settings: Settings) -> list[Path]:
    return [settings.events_dir / p.path for p in read_manifest(settings.events_dir).parts]


def as_earlier_release(path: Path) -> None:
    """Rewrite ``path`` without ``_reason_key``, under the same name."""
    temp = path.with_suffix(".earlier")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * EXCLUDE (_reason_key) FROM read_parquet({literal(path)})) "
        f"TO {literal(temp)} (FORMAT parquet)"
    )
    con.close()
    os.replace(temp, path)


def columns(path: Path) -> list[str]:
    query = f"SELECT name FROM parquet_schema({literal(path)})"
    return [name for (name,) in duckdb.connect().execute(query).fetchall()]


def schema(path: Path) -> list[tuple[Any, ...]]:
    query = (
        "SELECT name, type, converted_type, logical_type, num_children "
        f"FROM parquet_schema({literal(path)})"
    )
    return duckdb.connect().execute(query).fetchall()


def view_keys(settings: Settings) -> dict[str, str | None]:
    """uuid -> reason_key of ``assignment_errors``; each key checked against the reason's."""
    con = okta_alerts.connect(settings.data_dir)
    query = f"SELECT uuid, reason_key, {reason_key_sql('reason')} FROM assignment_errors"
    rows = con.execute(query).fetchall()
    assert all(stored == computed for _, stored, computed in rows)
    return {uuid: key for uuid, key, _ in rows}


def stored_events_sql(settings: Settings) -> str:
    con = okta_alerts.connect(settings.data_dir)
    row = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = '_stored_events'")
    return str(row.fetchone())


def stored_keys(path: Path) -> dict[str, str | None]:
    query = f"SELECT uuid, _reason_key FROM read_parquet({literal(path)}) WHERE _assignment_error"
    return dict(duckdb.connect().execute(query).fetchall())


def test_sealing_stores_the_key_of_each_assignment_error_and_null_for_other_events(
    settings: Settings, fill_store: Callable[[list[dict[str, Any]]], int]
) -> None:
    fill_store(errors(START, "a"))
    (part,) = part_files(settings)
    assert schema(settings.events_dir / "empty.parquet") == schema(part)
    rows = duckdb.connect().execute(
        f"SELECT uuid, _assignment_error, _reason_key, {KEY_OF_COLUMNS} "
        f"FROM read_parquet({literal(part)})"
    )
    found = {uuid: (error, stored, computed) for uuid, error, stored, computed in rows.fetchall()}
    keyed = {uuid: stored for uuid, (error, stored, computed) in found.items() if error}
    assert len(keyed) == ERRORS and all(keyed.values())
    assert all(stored == computed for error, stored, computed in found.values() if error)
    others = [found[f"a-{other}"][:2] for other in ("pushed", "lock", "login")]
    assert others == [(False, None)] * 3
    assert len({keyed[f"a-0-{u}"] for u in range(len(USERS))}) == 1, "one cause, one key"
    assert keyed["a-message"] == "Matching user not found."  # what follows "failed: "
    assert keyed["a-debug"] == "Error while creating user <user>: Conflict"
    assert view_keys(settings) == keyed


def test_a_store_whose_only_part_is_of_an_earlier_release_gives_the_same_keys(
    settings: Settings, fill_store: Callable[[list[dict[str, Any]]], int]
) -> None:
    fill_store(errors(START, "a"))
    before = view_keys(settings)
    assert "union_by_name" not in stored_events_sql(settings), "only new parts: read as they are"
    (part,) = part_files(settings)
    for path in (part, settings.events_dir / "empty.parquet"):
        as_earlier_release(path)
        assert "_reason_key" not in columns(path)
    assert view_keys(settings) == before and len(before) == ERRORS and all(before.values())
    assert "union_by_name" in stored_events_sql(settings)
    con = okta_alerts.connect(settings.data_dir)
    for view in VIEW_NAMES:
        names = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description or []]
        assert not any(name.startswith("_") for name in names), view
    events = con.execute("SELECT * FROM events LIMIT 0").description or []
    assert tuple(d[0] for d in events) == COLUMN_NAMES
    (settings.events_dir / "index.duckdb").unlink()  # rebuilt from the parts on the next open
    fill_store(errors(START, "a"))
    assert con.execute("SELECT count(*) FROM events").fetchone() == (ERRORS + 3,)
    assert "_reason_key" in columns(settings.events_dir / "empty.parquet"), "the writer mends it"


def test_compaction_merges_a_part_of_an_earlier_release_with_new_ones(settings: Settings) -> None:
    with open_writer(settings) as writer:
        seal(writer, Batch("old", errors(START, "old")))
    (old,) = part_files(settings)
    as_earlier_release(old)
    with open_writer(settings) as writer:
        for n in range(compaction.FANOUT - 1):
            seal(writer, Batch(f"new{n}", errors(START + timedelta(hours=n + 1), f"new{n}")))
        mixed = view_keys(settings)  # one part of an earlier release, three new ones
        writer.compact()
        assert [p.level for p in writer.manifest.parts] == [1]
    (merged,) = part_files(settings)
    assert "_reason_key" in columns(merged)
    stored = stored_keys(merged)
    assert len(stored) == compaction.FANOUT * ERRORS
    assert all((key is None) == uuid.startswith("old-") for uuid, key in stored.items())
    keys = view_keys(settings)
    assert keys == mixed and keys.keys() == stored.keys() and all(keys.values())
    assert {uuid: key for uuid, key in keys.items() if not uuid.startswith("old-")} == {
        uuid: key for uuid, key in stored.items() if key is not None
    }
    assert keys["old-0-0"] == keys["new0-0-1"] and keys["old-debug"] == keys["new2-debug"]


def test_the_retention_trims_a_part_of_an_earlier_release(data_dir: Path) -> None:
    settings = make_settings(data_dir, retention_days=30)
    now = datetime.now(UTC)
    with open_writer(settings) as writer:  # closing seals; compaction waits for the next open
        seal(writer, Batch("d", errors(now - timedelta(days=40), "gone")
                                + errors(now - timedelta(days=2), "kept")))  # fmt: skip
    (old,) = part_files(settings)
    as_earlier_release(old)
    with open_writer(settings) as writer:
        writer.compact()
        manifest = writer.manifest
    assert manifest.expired_events == ERRORS + 3
    (kept,) = part_files(settings)
    assert kept != old and "_reason_key" in columns(kept)
    stored = stored_keys(kept)
    assert len(stored) == ERRORS
    assert all(uuid.startswith("kept-") and key is None for uuid, key in stored.items())
    keys = view_keys(settings)
    assert keys.keys() == stored.keys() and all(keys.values())
    assert keys["kept-debug"] == "Error while creating user <user>: Conflict"
