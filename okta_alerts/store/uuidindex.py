"""Every stored ``uuid``, so that each is stored once, whatever a later copy carries.

The index lives in the writer's private DuckDB file (``events/index.duckdb``; readers never open
it): one row per stored event with a 64-bit hash of its uuid, the uuid, the day it was
published and the number of the journal whose seal stored it. Sealing looks new uuids up by
hash (a scan of one 8-byte column) and confirms any hit by the uuid itself, so a hash collision
never drops an event. The first stored copy wins: a later copy with another ``published`` or
another body is a repeat. On start, the rows of journals still waiting to be sealed (a crash
came between the index and the manifest) are removed; a missing index is rebuilt from the
published files.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from okta_alerts.sql import literal_list
from okta_alerts.store.layout import segment_source

SCHEMA = "CREATE TABLE IF NOT EXISTS uuids (h UBIGINT, uuid VARCHAR, day DATE, seq BIGINT)"
HASH = "md5_number_lower"  # stable across versions and processes, unlike hash()


class UuidIndex:
    """The index, on the writer's DuckDB connection."""

    def __init__(self, db: duckdb.DuckDBPyConnection) -> None:
        self.db = db
        db.execute(SCHEMA)

    @property
    def empty(self) -> bool:
        row = self.db.execute("SELECT count(*) = 0 FROM uuids").fetchone()
        return bool(row and row[0])

    def mark_repeats(self, table: str) -> None:
        """Set ``repeat`` in ``table`` (columns uuid, repeat) for every uuid already stored."""
        hits = self.db.execute(
            f"SELECT DISTINCT h FROM uuids WHERE h IN (SELECT {HASH}(uuid) FROM {table})"
        ).fetchall()
        if hits:  # confirm by the uuid itself, reading uuids only where the hash matched
            self.db.execute(
                f"UPDATE {table} SET repeat = true WHERE uuid IN "
                "(SELECT uuid FROM uuids WHERE h = ANY($hits::UBIGINT[]))",
                {"hits": [h for (h,) in hits]},
            )

    def add(self, table: str, seq: int) -> None:
        """Remember the uuids of ``table`` (columns uuid, published, repeat) not marked repeat."""
        self.db.execute(
            f"INSERT INTO uuids SELECT {HASH}(uuid), uuid, CAST(published AS DATE), $seq "
            f"FROM {table} WHERE NOT repeat",
            {"seq": seq},
        )

    def forget_seals(self, journals: Iterable[int]) -> None:
        """Drop the rows of these journals' seals: they are to be sealed again (a crash came
        between the index and the manifest)."""
        numbers = list(journals)
        if numbers:
            self.db.execute("DELETE FROM uuids WHERE seq = ANY($n::BIGINT[])", {"n": numbers})

    def expire(self, cutoff_day: str) -> None:
        """Forget events published before the retention cutoff (compaction drops them)."""
        self.db.execute("DELETE FROM uuids WHERE day < CAST($day AS DATE)", {"day": cutoff_day})

    def rebuild(self, parts: Iterable[str], segments: Iterable[tuple[str, list[str]]]) -> None:
        """Fill an empty index from published parts and segments (minus their exclusions)."""
        parts = list(parts)
        if parts:
            self.db.execute(
                f"INSERT INTO uuids SELECT {HASH}(uuid), uuid, CAST(published AS DATE), 0 "
                f"FROM read_parquet({literal_list(parts)})"
            )
        for path, excluded in segments:
            source = segment_source(literal_list([path]))
            self.db.execute(
                f"INSERT INTO uuids SELECT {HASH}(uuid), uuid, CAST(published AS DATE), 0 FROM "
                f"(SELECT raw->>'uuid' AS uuid, coalesce(try_cast(raw->>'published' AS "
                f"TIMESTAMPTZ), received_at) AS published, _record FROM {source}) "
                "WHERE (uuid || ' ' || _record) NOT IN (SELECT unnest($x::VARCHAR[]))",
                {"x": excluded},
            )
