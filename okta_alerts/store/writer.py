"""The store's single writer: journal → sealed Parquet part → merged parts.

Sealing and compaction run on a thread of their own, never on the acknowledgement path: sealing
extracts a closed journal's columns once into a Parquet part, keeping each uuid once; compaction
merges parts and applies the retention. Invariants: a batch is acknowledged only once fsynced in
a journal; readers only open files the manifest lists, which are complete and never written
again; each ``uuid`` is stored once (the first copy); replaced files are deleted only
``grace_seconds`` after they left the manifest. The file layout is :mod:`okta_alerts.store.layout`.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import duckdb

from okta_alerts.config import Settings
from okta_alerts.errors import StoreError, StoreLockedError
from okta_alerts.files import HolderLock, publish
from okta_alerts.okta.delivery import Batch
from okta_alerts.sql import literal
from okta_alerts.store.catalog import Catalog
from okta_alerts.store.compaction import compact
from okta_alerts.store.journal import Journal, RecordIds, repair_tail
from okta_alerts.store.layout import (
    EMPTY_PARQUET,
    INDEX_DB,
    PARTS,
    WRITER_LOCK,
    earlier_parts,
    write_empty_parquet,
)
from okta_alerts.store.manifest import FileEntry, Manifest
from okta_alerts.store.sealing import SealResult, extract_part, seal_journal
from okta_alerts.store.uuidindex import UuidIndex

JOURNAL_ROTATE_BYTES = 64 * 1024 * 1024  # seal early under load
COMPACT_PARTS = 16  # merge at once when this many level-0 parts wait
WRITER_MEMORY = "256MB"  # DuckDB memory of the writer: ~370 MB peak RSS loading 1M events
LOCK_WAIT = 1.0  # seconds: `status` peeks at the lock for an instant


class StoreWriter:
    """The one process that writes a data directory. Use :func:`open_writer`.

    Thread model: ``append``/``sync``/``rotate`` run on one thread (the committer);
    ``seal``/``compact`` on one other thread (the sealer), serialized by a lock. They share only
    closed journal files, handed over by ``rotate``'s return value.
    """

    def __init__(
        self, settings: Settings, owner: str, threads: int = 2, memory: str = WRITER_MEMORY
    ) -> None:
        """Take the data dir's writer lock (StoreLockedError if another process has it) and
        recover what a crash left. ``threads`` and ``memory``: DuckDB's for sealing and
        compaction (the receiver gives them 1 thread and less memory than a batch command, so
        this work never takes a core or the memory of acknowledgements)."""
        self.settings = settings
        self.root = settings.events_dir
        self._lock = HolderLock(self.root / WRITER_LOCK)
        holder = self._lock.acquire(owner, LOCK_WAIT)
        if holder is not None:
            raise StoreLockedError(
                f"{self.root} is in use by {holder}; stop it first, or send the events to its "
                "/hooks/okta endpoint instead"
            )
        self._seal_lock = threading.Lock()
        self._record_ids = RecordIds(f"{time.time_ns():x}")
        self.failed = False  # the current journal saw a failed write: rotate and rebuild its keys
        self._suspect: set[Path] = set()
        for sub in ("journal", PARTS, "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._db = _writer_db(self.root, threads, memory)
        self.catalog = Catalog(self.root)
        self.index = UuidIndex(self._db)
        self.recovered = self._recover()
        self._journal, self._keys = self._open_journal()
        self.journal_opened = time.monotonic()

    @property
    def manifest(self) -> Manifest:
        return self.catalog.manifest

    # -- committer side -------------------------------------------------------------------

    def next_record_id(self, lines: int) -> str:
        """A new record id for a batch of ``lines`` events (see :class:`journal.RecordIds`)."""
        return self._record_ids.next(lines)

    def append(self, batches: Iterable[tuple[bytes, bytes]]) -> None:
        """Append (journal lines, key lines) pairs; not durable until :meth:`sync`.

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
        self._journal, self._keys = self._open_journal()
        return closed

    # -- sealer side ----------------------------------------------------------------------

    def seal(self, journal: Path) -> SealResult:
        """Publish a closed journal as a part (each uuid once); delete the journal."""
        with self._seal_lock:
            suspect = journal in self._suspect
            if suspect:
                repair_tail(journal)
            try:
                result = seal_journal(
                    self._db, self.catalog, self.index, journal, rebuild_keys=suspect
                )
            except duckdb.Error as exc:
                raise StoreError(
                    f"sealing {journal} failed ({first_line(exc)}); the journal stays and is "
                    "sealed on the writer's next start"
                ) from exc
            self._suspect.discard(journal)
            return result

    def compact(self, now: datetime | None = None) -> int:
        """Merge parts, apply the retention, delete retired files; return the files replaced."""
        with self._seal_lock:
            try:
                replaced = compact(
                    self._db,
                    self.catalog,
                    self.index,
                    now or datetime.now(UTC),
                    self.settings.retention_days,
                )
            except duckdb.Error as exc:
                raise StoreError(
                    f"compaction failed ({first_line(exc)}); the parts it was merging stay as "
                    "they were and it runs again later (or: okta-alerts compact)"
                ) from exc
            self.catalog.delete_retired(self.settings.grace_seconds)
            return replaced

    @property
    def small_parts(self) -> int:
        """Level-0 parts waiting to be merged."""
        return sum(1 for f in self.manifest.parts if f.level == 0)

    def close(self, seal: bool = True) -> None:
        """Seal what is left (unless ``seal`` is False, as in a crash) and release the lock.

        Compaction is left to the next start or to :meth:`compact`, so shutdown stays quick.
        """
        if not self._lock.held:
            return
        try:
            path = self.rotate() if seal else None
            self._journal.close()
            with contextlib.suppress(OSError):
                self._keys.close()
            if seal:
                if path is not None:
                    self.seal(path)
                for leftover in (self._journal.path, _keys_path(self._journal.path)):
                    if leftover.exists() and leftover.stat().st_size == 0:
                        leftover.unlink()
        finally:
            self._db.close()
            self._lock.release()

    # -- internals --------------------------------------------------------------------------

    def _open_journal(self) -> tuple[Journal, IO[bytes]]:
        journal = Journal(self.root / "journal" / f"{self.catalog.take_number():012d}.ndjson")
        keys = open(_keys_path(journal.path), "ab")  # noqa: SIM115 - closed by rotate()
        return journal, keys

    def _recover(self) -> list[SealResult]:
        """Finish what a crash interrupted: drop unpublished parts, bring the uuid index in line
        with the manifest, seal leftover journals (and an earlier release's segments), merge."""
        listed = self.catalog.listed_paths()
        for folder in (PARTS, "daily"):
            for path in (self.root / folder).rglob("*"):
                if path.is_file() and path.relative_to(self.root).as_posix() not in listed:
                    path.unlink()  # written but never published: an interrupted seal or merge
        shutil.rmtree(self.root / "tmp", ignore_errors=True)
        (self.root / "tmp").mkdir()
        empty = self.root / EMPTY_PARQUET
        if not empty.exists() or earlier_parts(self._db, [empty]):  # an earlier release's
            temp = self.root / "tmp" / EMPTY_PARQUET
            write_empty_parquet(self._db, temp)
            publish(temp, empty)
        self._drop_sealed_journals()
        self._align_index()
        results = [
            self._reseal(journal) for journal in sorted((self.root / "journal").glob("*.ndjson"))
        ]
        results += [self._convert(segment) for segment in self.manifest.segments]
        compact(self._db, self.catalog, self.index, datetime.now(UTC), self.settings.retention_days)
        self.catalog.skip_used_numbers()
        return results

    def _drop_sealed_journals(self) -> None:
        """A journal whose part the manifest lists was sealed: only its deletion was cut short."""
        sealed = {f.journal for f in self.manifest.parts if f.journal is not None}
        for journal in (self.root / "journal").glob("*.ndjson"):
            if int(journal.stem) in sealed:
                journal.unlink()
                _keys_path(journal).unlink(missing_ok=True)

    def _align_index(self) -> None:
        """The uuid index holds exactly the published events: forget the uuids of journals that
        are still to be sealed (a crash during their seal); rebuild an index that is missing (a
        store of an earlier release)."""
        self.index.forget_seals(int(j.stem) for j in (self.root / "journal").glob("*.ndjson"))
        if self.index.empty and self.manifest.files:
            self.index.rebuild(
                [str(self.root / f.path) for f in self.manifest.parts],
                [(str(self.root / f.path), [f"{u} {r}" for u, r in f.exclude])
                 for f in self.manifest.segments],
            )  # fmt: skip

    def _reseal(self, journal: Path) -> SealResult:
        repair_tail(journal)
        return seal_journal(self._db, self.catalog, self.index, journal, rebuild_keys=True)

    def _convert(self, segment: FileEntry) -> SealResult:
        """An earlier release's NDJSON segment (its uuids already indexed) into a part."""
        started = time.monotonic()
        path = self.root / segment.path
        excluded = [f"{u} {r}" for u, r in segment.exclude]
        part = extract_part(self._db, self.catalog, path, excluded)
        self.catalog.commit(add=[part] if part else [], drop=[segment])
        return SealResult(
            path.name, segment.rows, part.rows if part else 0, time.monotonic() - started
        )


def first_line(exc: Exception) -> str:
    """DuckDB's message without its list of possible solutions."""
    return str(exc).strip().splitlines()[0]


def _keys_path(journal: Path) -> Path:
    return journal.with_suffix(".keys")


def _writer_db(root: Path, threads: int, memory: str) -> duckdb.DuckDBPyConnection:
    """The writer's private DuckDB file (the uuid index lives there; readers never open it)."""
    db = duckdb.connect(str(root / INDEX_DB), config={"threads": threads, "memory_limit": memory})
    for statement in (
        "SET TimeZone = 'UTC'",
        "SET enable_progress_bar = false",
        f"SET temp_directory = {literal(root / 'tmp')}",
    ):
        db.execute(statement)
    return db


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
                if writer.small_parts >= COMPACT_PARTS:
                    writer.compact()
        writer.sync()
        path = writer.rotate()
        if path is not None:
            writer.seal(path)
        writer.compact()
    return total
