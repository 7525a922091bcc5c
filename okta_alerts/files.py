"""File infrastructure written once: fsync, atomic replacement, and the holder-noted lock.

Every file okta-alerts publishes (the manifest, daily parts, cursors) is written to a temporary
file, fsynced, renamed over its target and the folder fsynced, so a crash leaves the old file or
the new one, never half of one. Exclusive ownership (the store's writer, the alert state) is an
OS lock (``flock``) on a small file that also names its holder, so whoever is refused can say who
holds it; the lock goes away with the process, even after ``kill -9``.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

LOCK_POLL = 0.05  # seconds between attempts while waiting for a lock


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


def publish(temp: Path, target: Path) -> None:
    """Make a finished ``temp`` file durable and rename it over ``target`` (atomically)."""
    fsync_file(temp)
    os.replace(temp, target)
    fsync_dir(target.parent)


def write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data``: readers see the old file or the new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
    publish(temp, target)


class HolderLock:
    """An exclusive ``flock`` on ``path`` whose file names the holder while it is held."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self, note: str, timeout: float) -> str | None:
        """Take the lock within ``timeout`` seconds and write ``note`` into the file.

        Returns None when taken, else the current holder's note (the lock is not taken).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept while held
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    handle.close()
                    return holder
                time.sleep(LOCK_POLL)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{note} (pid {os.getpid()})\n")
        handle.flush()
        self._handle = handle
        return None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the flock
            self._handle = None


def lock_holder(path: Path) -> str | None:
    """Who holds the lock at ``path`` (its note), or None if nobody does."""
    if not path.exists():
        return None
    with open(path, "r+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
