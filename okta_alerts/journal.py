"""The hot file: an append-only NDJSON journal, one line per accepted batch.

A batch is acknowledged only after its line is written and ``fdatasync`` returned, so the journal
is what makes an acknowledgement durable. It is private to the writer; readers never open it.
Sealing turns a closed journal into a Parquet segment (:mod:`okta_alerts.store`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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


def repair_tail(path: Path) -> int:
    """Cut a torn last line (a write interrupted by a crash, never acknowledged); return size."""
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return size
        step = 1 << 16
        pos = size
        while pos > 0:
            start = max(0, pos - step)
            handle.seek(start)
            chunk = handle.read(pos - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                good = start + cut + 1
                handle.truncate(good)
                return good
            pos = start
        handle.truncate(0)
        return 0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
