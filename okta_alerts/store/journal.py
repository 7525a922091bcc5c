"""The hot file: an append-only NDJSON journal, one line per event of each accepted batch.

A batch is acknowledged only after its lines are written and ``fdatasync`` returned, so the
journal is what makes an acknowledgement durable. It is private to the writer; readers never open
it. Sealing turns a closed journal into a Parquet part (:mod:`okta_alerts.store.sealing`).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from okta_alerts.files import fsync_dir

_RECORD = re.compile(rb'^\{"record":"([^"]*)"')


class Journal:
    """One open journal file. Not thread-safe: one thread appends and syncs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        fsync_dir(path.parent)

    def append(self, data: bytes) -> None:
        """Write ``data`` (whole lines); on failure the file is cut back to its last good size."""
        good = self.size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            self._truncate(good)
            raise
        self.size = good + len(data)

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _truncate(self, size: int) -> None:
        # If this fails too, the torn tail is cut by repair_tail() before sealing.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, size)


class RecordIds:
    """Ids for the batches one process writes: ``<boot>.<number>.<lines>``.

    ``boot`` (no dots or spaces) makes them unique across processes and restarts; the id ends
    with the batch's line count, so :func:`repair_tail` can tell a batch whose write a crash cut
    short (at a line boundary) from a whole one.
    """

    def __init__(self, boot: str) -> None:
        self.boot = boot
        self.count = 0

    def next(self, lines: int) -> str:
        self.count += 1
        return f"{self.boot}.{self.count}.{lines}"


def _batch_lines(line: bytes) -> tuple[bytes, int]:
    """(record id, line count of its batch) of a journal line; count 1 if the id has none."""
    match = _RECORD.match(line)
    if match is None:
        return b"", 1
    record = match.group(1)
    parts = record.split(b".")
    return record, int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 1


def repair_tail(path: Path) -> int:
    """Cut what a crash left unfinished at the end of a journal; return the new size.

    A write interrupted by a crash was never acknowledged. It can end mid-line or, just as
    well, on a line boundary inside a batch; either way the batch's lines are all dropped, so a
    delivery is stored whole or not at all.
    """
    good = 0  # end of the last whole batch
    with open(path, "r+b") as handle:
        offset, current, expected, seen = 0, b"", 0, 0
        for line in handle:
            if not line.endswith(b"\n"):
                break
            record, count = _batch_lines(line)
            if record == current and seen < expected:
                seen += 1
            else:
                current, expected, seen = record, count, 1
            offset += len(line)
            if seen >= expected:
                good = offset
        size = handle.seek(0, os.SEEK_END)
        if good < size:
            handle.truncate(good)
    return good
