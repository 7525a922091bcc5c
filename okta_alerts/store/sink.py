"""Where System Log pages go: the store's writer, or the running receiver that owns it.

Both sinks make a batch durable before :meth:`write` returns, so a caller may save its cursor
right after. The store sink holds the writer lock only while it is open; when a receiver owns
the data dir (``StoreLockedError``) the events are handed to it (:mod:`okta_alerts.store.handoff`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from okta_alerts.config import Settings
from okta_alerts.errors import StoreLockedError
from okta_alerts.files import lock_holder
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.handoff import ReceiverSender
from okta_alerts.store.layout import WRITER_LOCK
from okta_alerts.store.writer import COMPACT_PARTS, JOURNAL_ROTATE_BYTES, StoreWriter


class Sink(Protocol):
    via: str

    def write(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


class StoreSink:
    """Appends to the journal and fsyncs per batch; seals and compacts on a background thread.

    A page is durable once :meth:`write` returns (journal + fsync), so the caller may save its
    cursor. Every ``seal_seconds`` the journal is closed and handed to one background thread that
    seals it into a part (readers see it) and, when ``COMPACT_PARTS`` small parts wait, merges
    parts. While that thread is busy the journal keeps growing (up to 64 MiB), so parts grow with
    the rate instead of multiplying, and a fast load merges less. The store's DuckDB work runs
    there, outside the GIL, while the next pages are fetched and parsed. A background failure is
    raised by the next :meth:`write` or by :meth:`close`.
    """

    def __init__(self, settings: Settings, owner: str) -> None:
        self.writer = StoreWriter(settings, owner)
        self.seal_seconds = settings.seal_seconds
        self.via = f"the store in {settings.data_dir}"
        self._sealed_at = time.monotonic()
        self._background = ThreadPoolExecutor(1, "okta-alerts-sink-sealer")
        self._closed: list[Path] = []  # rotated journals not yet handed to the background
        self._running: Future[None] | None = None

    def write(self, batch: Batch) -> None:
        if not batch.size:
            return
        self.writer.append_batch(batch)
        self.writer.sync()
        idle = self._running is None or self._running.done()
        due = idle and time.monotonic() - self._sealed_at >= self.seal_seconds
        if due or self.writer.journal_bytes >= JOURNAL_ROTATE_BYTES:
            self._sealed_at = time.monotonic()
            path = self.writer.rotate()
            if path is not None:
                self._closed.append(path)
        if self._closed and idle:
            self._finish_background()
            paths, self._closed = self._closed, []
            self._running = self._background.submit(self._seal, paths, COMPACT_PARTS)

    def close(self) -> None:
        """Seal and compact what was written (readers see it), then release the lock."""
        try:
            self._finish_background()
            path = self.writer.rotate()
            self._seal([*self._closed, *([path] if path is not None else [])], compact_parts=0)
        finally:
            self._background.shutdown()
            self.writer.close(seal=True)

    def _seal(self, paths: list[Path], compact_parts: int) -> None:
        """Seal ``paths``; compact when ``compact_parts`` small parts wait (0: always)."""
        for path in paths:
            self.writer.seal(path)
        if self.writer.small_parts >= compact_parts:
            self.writer.compact()

    def _finish_background(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.result()  # re-raises a failed seal or compaction


class ReceiverSink:
    """POSTs each batch to the receiver; at close, waits until readers can see them."""

    def __init__(self, settings: Settings, holder: str | None, wait: bool = True) -> None:
        self.sender = ReceiverSender(settings, holder)
        self.wait = wait
        self.via = f"the running receiver at {self.sender.url}"

    def write(self, batch: Batch) -> None:
        if batch.size:
            self.sender.send(batch)

    def close(self) -> None:
        try:
            if self.wait:
                self.sender.wait_visible()
        finally:
            self.sender.close()


@contextmanager
def open_sink(
    settings: Settings, owner: str, prefer_receiver: bool = False, wait: bool = True
) -> Iterator[Sink]:
    """The store's writer if the data dir is free, else (or with ``prefer_receiver``) the
    receiver that owns it; with ``wait``, closing waits until readers see the events."""
    sink: Sink
    holder = lock_holder(settings.events_dir / WRITER_LOCK)
    if prefer_receiver or holder is not None:
        sink = ReceiverSink(settings, holder, wait)
    else:
        try:
            sink = StoreSink(settings, owner)
        except StoreLockedError:
            holder = lock_holder(settings.events_dir / WRITER_LOCK)
            sink = ReceiverSink(settings, holder, wait)
    try:
        yield sink
    finally:
        sink.close()
