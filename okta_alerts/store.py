"""The event store's single writer: journal → sealed segment → compacted daily Parquet parts.

Layout under ``<data_dir>/events``::

    writer.lock               held (flock) by the one writer; names who holds it
    journal/N.ndjson          the hot file: one line per event of each accepted batch, fsynced
                              before the ack
    journal/N.keys            uuid, published, record of each event (rebuilt after a crash)
    segments/N.ndjson         a sealed journal, published as is by rename
    daily/YYYY/MM/DD-N-K.parquet  compacted parts: all columns extracted, zstd, sorted by
                              published; a busy day of wide events is split into time ranges
    manifest.json             what readers may open (okta_alerts.manifest)

Sealing is cheap (a rename plus a duplicate check on the uuid index), so it never holds up
acknowledgements; compaction extracts the columns once, in the background. Invariants: a batch
is acknowledged only once fsynced in a journal; readers only open files the manifest lists, which
are complete and never written again; each ``uuid`` is visible once (a sealed segment lists the
``uuid``/record pairs that repeat earlier data as exclusions); replaced files are deleted only
``grace_seconds`` after they left the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import duckdb

from okta_alerts.columns import STORED_NAMES, extract_sql
from okta_alerts.config import Settings
from okta_alerts.errors import StoreError, StoreLockedError
from okta_alerts.events import MAX_EVENT_BYTES, Batch
from okta_alerts.journal import Journal, RecordIds, fsync_dir, fsync_file, repair_tail
from okta_alerts.manifest import FileEntry, Manifest, Retired, read_manifest, write_manifest

Lines = bytes | memoryview  # journal or index lines; a view spares a copy of a front's frame
JOURNAL_ROTATE_BYTES = 64 * 1024 * 1024  # seal early under load
MAX_LINE_BYTES = MAX_EVENT_BYTES + 4096  # one event and its record header
COMPACT_SEGMENT_ROWS = 1_000_000  # compact at once when this many rows wait in segments
PART_MAX_ROWS = 500_000  # most rows in one daily part; half full parts are left alone
SORT_PART_BYTES = 192 * 1024 * 1024  # uncompressed bytes of one part's sort, well inside the limit
WRITER_MEMORY_LIMIT = "1GB"
# Row groups are bounded in bytes too: the writer buffers one per open file, so a day of wide
# events (long user agents, big debugData) must not need more memory than the writer has.
DAILY_PARQUET = (
    "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3, ROW_GROUP_SIZE 30720, "
    "ROW_GROUP_SIZE_BYTES '48MB'"
)
STAGE_PARQUET = (
    "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 4096, "
    "ROW_GROUP_SIZE_BYTES '8MB'"
)


@dataclass(frozen=True, slots=True)
class SealResult:
    journal: str
    received: int
    stored: int
    seconds: float


class StoreWriter:
    """The one process that writes a data directory. Use :func:`open_writer`.

    Thread model: ``append``/``sync``/``rotate`` run on one thread (the committer);
    ``seal``/``compact`` on one other thread (the sealer), serialized by a lock. They share only
    closed journal files, handed over by ``rotate``'s return value.
    """

    def __init__(self, settings: Settings, owner: str) -> None:
        self.settings = settings
        self.root = settings.events_dir
        self._lock_file = _acquire_lock(self.root, owner)
        self._seal_lock = threading.Lock()
        self._record_ids = RecordIds(f"{time.time_ns():x}")
        self.failed = False  # the current journal saw a failed write: rotate and rebuild its keys
        self._suspect: set[Path] = set()
        for sub in ("journal", "segments", "daily", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._db = _writer_db(self.root / "tmp")
        self.manifest = read_manifest(self.root)
        self._seq = self._next_seq()
        self.recovered = self._recover()
        self._seq = self._next_seq()
        self._journal, self._keys = self._open_journal()
        self.journal_opened = time.monotonic()

    # -- committer side -------------------------------------------------------------------

    def next_record_id(self, lines: int) -> str:
        """A new record id for a batch of ``lines`` events (see :class:`journal.RecordIds`)."""
        return self._record_ids.next(lines)

    def append(self, batches: Iterable[tuple[Lines, Lines]]) -> None:
        """Append (journal line, key lines) pairs; not durable until :meth:`sync`.

        After a failure (disk full, I/O error) the journal is marked *suspect*: the next
        :meth:`rotate` closes it, and sealing cuts any torn tail and rebuilds its uuid index from
        the journal itself, so events of a failed (unacknowledged) write never count as stored.
        """
        lines, keys = [], []
        for line, key in batches:
            lines.append(line)
            keys.append(key)
        try:
            self._journal.append(b"".join(lines))
            self._keys.write(b"".join(keys))
        except OSError:
            self.failed = True
            raise

    def append_batch(self, batch: Batch) -> None:
        record = self.next_record_id(batch.size)
        self.append([(batch.record(record), batch.keys(record))])

    def sync(self) -> None:
        try:
            self._keys.flush()
            self._journal.sync()
        except OSError:
            self.failed = True
            raise

    @property
    def journal_bytes(self) -> int:
        return self._journal.size

    def rotate(self) -> Path | None:
        """Close the current journal if it has data and start a new one; return the closed path."""
        self.journal_opened = time.monotonic()
        if self._journal.size == 0 and not self.failed:
            return None
        closed = self._journal.path
        try:
            self._journal.sync()
        except OSError:
            self.failed = True
        try:
            self._keys.close()
        except OSError:
            self.failed = True
        self._journal.close()
        if self.failed:
            self._suspect.add(closed)
            self.failed = False
        self._seq += 1
        self._journal, self._keys = self._open_journal()
        return closed

    # -- sealer side ----------------------------------------------------------------------

    def seal(self, journal: Path) -> SealResult:
        """Publish a closed journal as a segment, listing its repeats of sealed events."""
        with self._seal_lock:
            suspect = journal in self._suspect
            if suspect:
                repair_tail(journal)
            result = self._seal(journal, rebuild_keys=suspect)
            self._suspect.discard(journal)
            return result

    def compact(self, now: datetime | None = None) -> int:
        """Merge segments into daily parts, drop expired days; return the files replaced."""
        with self._seal_lock:
            replaced = self._compact(now or datetime.now(UTC))
            self._delete_retired()
            return replaced

    @property
    def segment_rows(self) -> int:
        return sum(f.rows for f in self.manifest.segments)

    def close(self, seal: bool = True) -> None:
        """Seal what is left (unless ``seal`` is False, as in a crash) and release the lock.

        Compaction is left to the next start or to :meth:`compact`, so shutdown stays quick.
        """
        if self._lock_file.closed:
            return
        try:
            path = self.rotate() if seal else None
            self._journal.close()
            with contextlib.suppress(OSError):
                self._keys.close()
            if seal:
                if path is not None:
                    self.seal(path)
                for leftover in (self._journal.path, self._keys_path(self._journal.path)):
                    if leftover.exists() and leftover.stat().st_size == 0:
                        leftover.unlink()
        finally:
            self._db.close()
            self._lock_file.close()

    # -- internals --------------------------------------------------------------------------

    def _keys_path(self, journal: Path) -> Path:
        return journal.with_suffix(".keys")

    def _open_journal(self) -> tuple[Journal, IO[bytes]]:
        journal = Journal(self.root / "journal" / f"{self._seq:012d}.ndjson")
        keys = open(self._keys_path(journal.path), "ab")  # noqa: SIM115 - closed by rotate()
        return journal, keys

    def _next_seq(self) -> int:
        """A number no journal, segment or daily part has used, listed or retired."""
        names = [f.path for f in self.manifest.files] + [r.path for r in self.manifest.retired]
        seqs = [int(Path(name).stem.rsplit("-", 1)[-1]) for name in names]
        seqs += [int(p.stem) for p in (self.root / "journal").glob("*.ndjson")]
        return max([*seqs, self.manifest.next_seq - 1]) + 1

    def _recover(self) -> list[SealResult]:
        """Finish what a crash interrupted: seal leftover journals, drop unpublished files."""
        listed = {f.path for f in self.manifest.files} | {r.path for r in self.manifest.retired}
        for folder in ("segments", "daily"):
            for path in (self.root / folder).rglob("*"):
                if path.is_file() and path.relative_to(self.root).as_posix() not in listed:
                    path.unlink()  # written but never published: an interrupted seal/compaction
        shutil.rmtree(self.root / "tmp", ignore_errors=True)
        (self.root / "tmp").mkdir()
        (self.root / "empty.ndjson").touch()
        self._ensure_empty_parquet()
        results = []
        for journal in sorted((self.root / "journal").glob("*.ndjson")):
            repair_tail(journal)
            results.append(self._seal(journal, rebuild_keys=True))
        if self.manifest.segments:
            self._compact(datetime.now(UTC))
        return results

    def _ensure_empty_parquet(self) -> None:
        empty = self.root / "empty.parquet"
        if not empty.exists():
            temp = self.root / "tmp" / "empty.parquet"
            write_empty_parquet(self._db, temp)
            os.replace(temp, empty)

    def _seal(self, journal: Path, rebuild_keys: bool) -> SealResult:
        started = time.monotonic()
        keys_path = self._keys_path(journal)
        if journal.stat().st_size == 0:
            journal.unlink()
            keys_path.unlink(missing_ok=True)
            return SealResult(journal.name, 0, 0, 0.0)
        db = self._db
        if rebuild_keys or not keys_path.exists():
            db.execute(f"CREATE OR REPLACE TEMP TABLE k AS {_keys_from_journal(journal)}")
        else:
            db.execute(f"CREATE OR REPLACE TEMP TABLE k AS {_keys_from_index(keys_path)}")
        db.execute(
            "CREATE OR REPLACE TEMP TABLE k2 AS SELECT *, "
            "row_number() OVER (PARTITION BY uuid ORDER BY ord) > 1 AS repeat FROM k"
        )
        received, low, high = _one(db, "SELECT count(*), min(published), max(published) FROM k2")
        daily = [
            str(self.root / f.path)
            for f in self.manifest.daily
            if f.min_published <= high.isoformat() and f.max_published >= low.isoformat()
        ]
        if daily:
            db.execute(
                "UPDATE k2 SET repeat = true WHERE uuid IN (SELECT uuid FROM read_parquet(?) "
                "WHERE published BETWEEN ? AND ?)",
                [daily, low, high],
            )
        db.execute("UPDATE k2 SET repeat = true WHERE uuid IN (SELECT uuid FROM sealed_keys)")
        stored, low, high = _one(
            db, "SELECT count(*), min(published), max(published) FROM k2 WHERE NOT repeat"
        )
        if stored:
            excluded = db.execute("SELECT uuid, record FROM k2 WHERE repeat").fetchall()
            relative = f"segments/{journal.name}"
            os.replace(journal, self.root / relative)
            fsync_dir(self.root / "segments")
            fsync_dir(journal.parent)
            db.execute("INSERT INTO sealed_keys SELECT uuid FROM k2 WHERE NOT repeat")
            entry = self._entry(relative, "segment", stored, low, high)
            self._commit(add=[_with_exclusions(entry, excluded)], drop=[])
        else:
            journal.unlink()
            fsync_dir(journal.parent)
        keys_path.unlink(missing_ok=True)
        db.execute("DROP TABLE k; DROP TABLE k2")
        return SealResult(journal.name, received, stored, time.monotonic() - started)

    def _entry(
        self,
        relative: str,
        kind: str,
        rows: int,
        low: datetime,
        high: datetime,
        day: str | None = None,
    ) -> FileEntry:
        return FileEntry(
            path=relative,
            kind=kind,
            rows=int(rows),
            bytes=(self.root / relative).stat().st_size,
            min_published=low.isoformat(),
            max_published=high.isoformat(),
            created_at=datetime.now(UTC).isoformat(),
            day=day,
        )

    def _commit(self, add: list[FileEntry], drop: list[FileEntry]) -> None:
        dropped = {f.path for f in drop}
        now = time.time()
        manifest = Manifest(
            generation=self.manifest.generation,
            files=[f for f in self.manifest.files if f.path not in dropped] + add,
            retired=self.manifest.retired + [Retired(p, now) for p in sorted(dropped)],
            next_seq=max(self.manifest.next_seq, self._seq + 1),
        )
        write_manifest(self.root, manifest)
        self.manifest = manifest

    def _compact(self, now: datetime) -> int:
        cutoff = now - timedelta(days=self.settings.retention_days)
        expired = [f for f in self.manifest.files if f.max_published < cutoff.isoformat()]
        segments = [f for f in self.manifest.segments if f not in expired]
        if not segments:
            if expired:
                self._commit(add=[], drop=expired)
            return len(expired)
        db = self._db
        # Repeats listed at sealing: a small list, checked with the list as the hash side.
        excluded = [f"{u} {r}" for f in segments for u, r in f.exclude]
        # One streaming pass extracts the columns into a staged Parquet file; then each UTC day
        # is read back from it (columnar, pruned by row-group statistics) and sorted, out of
        # core if need be, into its part. Nothing holds the whole backlog in memory.
        stage = self.root / "tmp" / f"stage-{Path(segments[-1].path).stem}.parquet"
        source = segment_source([str(self.root / f.path) for f in segments])
        db.execute("SET preserve_insertion_order = false")  # lets the pass stream
        try:
            db.execute(
                f"COPY (SELECT {extract_columns('f.')} "
                f"FROM ({extract_sql(source, ('_record',))}) f WHERE f.published >= ? "
                "AND (f.uuid || ' ' || f._record) NOT IN (SELECT unnest(?::VARCHAR[]))) "
                f"TO '{stage}' ({STAGE_PARQUET})",
                [cutoff, excluded],
            )
        finally:
            db.execute("RESET preserve_insertion_order")  # the uuid index relies on file order
        staged = db.execute(
            f"SELECT {_DAY} AS day, count(*) FROM read_parquet(?) GROUP BY day ORDER BY day",
            [str(stage)],
        ).fetchall()
        live = [f for f in self.manifest.daily if f not in expired]
        add: list[FileEntry] = []
        merged: list[FileEntry] = []
        stem = Path(segments[-1].path).stem
        rows_per_part = self._rows_per_part(stage)
        for day, staged_rows in staged:
            # Parts under half the size are merged again, so a day ends in few, full parts.
            parts = [f for f in live if f.day == day and f.rows < rows_per_part // 2]
            merged += parts
            inputs = [str(stage)] + [str(self.root / f.path) for f in parts]
            relation = f"read_parquet({_sql_list(inputs)}, union_by_name = true)"
            pieces = -(-(staged_rows + sum(f.rows for f in parts)) // rows_per_part)
            for number, (low, high) in enumerate(self._day_ranges(relation, day, pieces)):
                relative = f"daily/{day[:4]}/{day[5:7]}/{day[8:]}-{stem}-{number}.parquet"
                self._publish(
                    f"SELECT {extract_columns()} FROM {relation} WHERE {_DAY} = '{day}' "
                    f"AND published >= '{low}' AND published < '{high}' ORDER BY published",
                    relative,
                )
                rows, first, last = _one(
                    db,
                    "SELECT count(*), min(published), max(published) FROM read_parquet(?)",
                    [str(self.root / relative)],
                )
                add.append(self._entry(relative, "daily", rows, first, last, day=day))
        stage.unlink(missing_ok=True)
        db.execute("DELETE FROM sealed_keys")
        self._commit(add=add, drop=segments + merged + expired)
        return len(segments) + len(merged) + len(expired)

    def _rows_per_part(self, stage: Path) -> int:
        """Rows a part may hold so that sorting it fits well inside the writer's memory.

        A part is sorted by ``published`` (readers skip row groups by time), and the sort of
        wide rows is what runs out of memory; the Parquet footer tells the bytes per row.
        """
        raw_bytes, rows = _one(
            self._db,
            "SELECT sum(total_uncompressed_size), "
            "(SELECT sum(num_rows) FROM parquet_file_metadata(?)) FROM parquet_metadata(?)",
            [str(stage), str(stage)],
        )
        per_row = max(1.0, (raw_bytes or 0) / max(1, rows or 0))
        return max(1_000, min(PART_MAX_ROWS, int(SORT_PART_BYTES / per_row)))

    def _day_ranges(self, relation: str, day: str, pieces: int) -> list[tuple[str, str]]:
        """Cut one day of ``relation`` into ``pieces`` ``published`` ranges of similar size."""
        where = f"WHERE {_DAY} = '{day}'"
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        bounds = [start.isoformat(), (start + timedelta(days=1)).isoformat()]
        if pieces > 1:
            (cuts,) = _one(
                self._db,
                f"SELECT quantile_disc(published, ?) FROM {relation} {where}",
                [[k / pieces for k in range(1, pieces)]],
            )
            inner = sorted({c.isoformat() for c in cuts} - set(bounds))
            bounds = [bounds[0], *inner, bounds[1]]
        return list(itertools.pairwise(bounds))

    def _publish(self, select: str, relative: str) -> None:
        """Write ``select`` to a temp file, fsync it, and rename it into place."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self.root / "tmp" / (target.name + ".tmp")
        self._db.execute(f"COPY ({select}) TO '{temp}' ({DAILY_PARQUET})")
        fsync_file(temp)
        os.replace(temp, target)
        fsync_dir(target.parent)

    def _delete_retired(self) -> None:
        horizon = time.time() - self.settings.grace_seconds
        due = [r for r in self.manifest.retired if r.retired_at <= horizon]
        if not due:
            return
        for retired in due:
            (self.root / retired.path).unlink(missing_ok=True)
        manifest = Manifest(
            generation=self.manifest.generation,
            files=self.manifest.files,
            retired=[r for r in self.manifest.retired if r not in due],
            next_seq=max(self.manifest.next_seq, self._seq + 1),
        )
        write_manifest(self.root, manifest)
        self.manifest = manifest


_DAY = "strftime(published, '%Y-%m-%d')"

EMPTY_SOURCE = (
    "(SELECT NULL::VARCHAR AS _record, NULL::VARCHAR AS delivery_id, "
    "NULL::TIMESTAMPTZ AS received_at, NULL::JSON AS raw LIMIT 0)"
)


def write_empty_parquet(db: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A zero-row file with the stored columns: what readers open when nothing is sealed."""
    db.execute(f"COPY ({extract_sql(EMPTY_SOURCE)}) TO '{path}' (FORMAT parquet)")


def extract_columns(prefix: str = "") -> str:
    return ", ".join(prefix + name for name in STORED_NAMES)


def segment_source(paths: list[str]) -> str:
    """A relation of (_record, delivery_id, received_at, raw) over journal/segment files."""
    return segment_source_of(_sql_list(paths))


def segment_source_of(files: str) -> str:
    """:func:`segment_source` over ``files``, any SQL expression of a list of paths."""
    return (
        f"(SELECT record AS _record, delivery_id, received_at, event AS raw "
        f"FROM read_ndjson({files}, columns={{record: 'VARCHAR', "
        f"delivery_id: 'VARCHAR', received_at: 'TIMESTAMPTZ', event: 'JSON'}}, "
        f"format='newline_delimited', maximum_object_size={MAX_LINE_BYTES}))"
    )


def _keys_from_index(path: Path) -> str:
    return (
        f"SELECT uuid, coalesce(try_cast(published AS TIMESTAMPTZ), now()) AS published, record, "
        f"row_number() OVER () AS ord FROM read_csv('{path}', delim='\\t', header=false, "
        f"quote='', escape='', "
        f"columns={{uuid: 'VARCHAR', published: 'VARCHAR', record: 'VARCHAR'}})"
    )


def _keys_from_journal(path: Path) -> str:
    return (
        f"SELECT raw->>'uuid' AS uuid, "
        f"coalesce(try_cast(raw->>'published' AS TIMESTAMPTZ), received_at) AS published, "
        f"_record AS record, row_number() OVER () AS ord FROM {segment_source([str(path)])}"
    )


def _with_exclusions(entry: FileEntry, excluded: list[tuple[Any, ...]]) -> FileEntry:
    return replace(entry, exclude=[[str(u), str(r)] for u, r in excluded])


def _one(db: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = db.execute(sql, params or []).fetchone()
    if row is None:
        raise StoreError(f"no result from {sql[:60]}")
    return row


def _writer_db(temp_dir: Path) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect(config={"threads": 2, "memory_limit": WRITER_MEMORY_LIMIT})
    for statement in (
        "SET TimeZone = 'UTC'",
        "SET enable_progress_bar = false",
        f"SET temp_directory = '{temp_dir}'",
        "CREATE TEMP TABLE sealed_keys (uuid VARCHAR)",
    ):
        db.execute(statement)
    return db


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _acquire_lock(root: Path, owner: str) -> IO[str]:
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / "writer.lock", "a+")  # noqa: SIM115 - held for the writer's lifetime
    deadline = time.monotonic() + 1.0  # `status` peeks at the lock for an instant
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StoreLockedError(
            f"{root} is in use by {holder}; stop it first, or send the events to its "
            "/hooks/okta endpoint instead"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{owner} (pid {os.getpid()})\n")
    handle.flush()
    return handle


@contextmanager
def open_writer(settings: Settings, owner: str = "okta-alerts") -> Iterator[StoreWriter]:
    """Own the data directory's store for the block; seal what was written at exit."""
    writer = StoreWriter(settings, owner)
    try:
        yield writer
    finally:
        writer.close(seal=True)


def write_batches(settings: Settings, batches: Iterable[Batch]) -> int:
    """Store ``batches`` through the writer path; when this returns they are visible to readers.

    Returns the number of events received (duplicates of stored events are not stored again).
    Raises :class:`StoreLockedError` when a receiver owns the data directory.
    """
    total = 0
    with open_writer(settings, owner="okta-alerts ingest") as writer:
        for batch in batches:
            writer.append_batch(batch)
            total += batch.size
            if writer.journal_bytes >= JOURNAL_ROTATE_BYTES:
                writer.sync()
                path = writer.rotate()
                if path is not None:
                    writer.seal(path)
                if writer.segment_rows >= COMPACT_SEGMENT_ROWS:
                    writer.compact()
        writer.sync()
        path = writer.rotate()
        if path is not None:
            writer.seal(path)
        writer.compact()
    return total
