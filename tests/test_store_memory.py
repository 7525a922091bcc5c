"""The writer's DuckDB memory: a COPY that runs out of it is run again on one thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from okta_alerts.errors import StoreError
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.sealing import copy_to, one_row
from okta_alerts.store.writer import StoreWriter, open_writer
from tests.support.factories import make_event
from tests.support.settings import make_settings


class OutOfMemoryOnce:
    """A real connection whose first COPY fails as DuckDB fails when the memory limit is hit."""

    def __init__(self, db: duckdb.DuckDBPyConnection) -> None:
        self.db = db
        self.failed = False
        self.copies_threads: list[str] = []

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        if sql.startswith("COPY"):
            self.copies_threads.append(one_row(self.db, "SELECT current_setting('threads')")[0])
            if not self.failed:
                self.failed = True
                raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")
        return self.db.execute(sql, params or [])


def test_a_copy_out_of_memory_runs_again_on_one_thread(tmp_path: Path) -> None:
    db = duckdb.connect(config={"threads": 2, "memory_limit": "256MB"})
    proxy = OutOfMemoryOnce(db)
    target = tmp_path / "out.parquet"
    copy = f"COPY (SELECT range AS n FROM range(1000)) TO '{target}' (FORMAT parquet)"
    copy_to(proxy, copy, {})  # type: ignore[arg-type]
    assert proxy.copies_threads == [2, 1]
    assert db.execute(f"SELECT count(*) FROM '{target}'").fetchone() == (1000,)
    settings = db.execute(
        "SELECT current_setting('threads'), current_setting('preserve_insertion_order')"
    ).fetchone()
    assert settings == (2, True), "the writer's settings are back"


def test_a_copy_out_of_memory_on_one_thread_too_is_raised(tmp_path: Path) -> None:
    db = duckdb.connect(config={"threads": 2, "memory_limit": "8MB"})
    rows = "SELECT repeat('x', 4000) || range AS s FROM range(400000) ORDER BY s DESC"
    big = f"COPY ({rows}) TO '{tmp_path / 'x.parquet'}' (FORMAT parquet)"
    with pytest.raises(duckdb.OutOfMemoryException):
        copy_to(db, big, {})
    assert db.execute("SELECT current_setting('threads')").fetchone() == (2,)


def test_a_seal_that_cannot_finish_says_so_and_keeps_the_journal(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    writer = StoreWriter(settings, "test", memory="24MB")
    try:
        writer.append_batch(Batch("d", [make_event() for _ in range(3000)]))
        writer.sync()
        journal = writer.rotate()
        assert journal is not None
        with pytest.raises(StoreError, match=r"sealing .* failed \(.*\); the journal stays"):
            writer.seal(journal)
        assert journal.exists()
    finally:
        writer.close(seal=False)
    with open_writer(settings) as again:  # the next start, with the writer's memory
        assert again.manifest.rows == 3000
