"""Where System Log pages go: the store's writer, or the running receiver that owns it.

Both sinks make a batch durable before :meth:`write` returns, so a caller may save its cursor
right after. The store sink holds the writer lock only while it is open; when a receiver owns
the data dir (``StoreLockedError``) the events are handed to it (:mod:`okta_alerts.handoff`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from okta_alerts.config import Settings
from okta_alerts.errors import StoreLockedError
from okta_alerts.events import Batch
from okta_alerts.handoff import ReceiverSender
from okta_alerts.status import lock_holder
from okta_alerts.store import COMPACT_SEGMENT_ROWS, StoreWriter


class Sink(Protocol):
    via: str

    def write(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


class StoreSink:
    """Appends to the journal and fsyncs per batch; seals every ``seal_seconds`` for readers."""

    def __init__(self, settings: Settings, owner: str) -> None:
        self.writer = StoreWriter(settings, owner)
        self.seal_seconds = settings.seal_seconds
        self.via = f"the store in {settings.data_dir}"
        self._sealed_at = time.monotonic()

    def write(self, batch: Batch) -> None:
        if not batch.size:
            return
        self.writer.append_batch(batch)
        self.writer.sync()
        if time.monotonic() - self._sealed_at >= self.seal_seconds:
            self._sealed_at = time.monotonic()
            path = self.writer.rotate()
            if path is not None:
                self.writer.seal(path)
            if self.writer.segment_rows >= COMPACT_SEGMENT_ROWS:
                self.writer.compact()

    def close(self) -> None:
        """Seal and compact what was written (readers see it), then release the lock."""
        try:
            path = self.writer.rotate()
            if path is not None:
                self.writer.seal(path)
            self.writer.compact()
        finally:
            self.writer.close(seal=True)


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
    holder = lock_holder(settings.events_dir / "writer.lock")
    if prefer_receiver or holder is not None:
        sink = ReceiverSink(settings, holder, wait)
    else:
        try:
            sink = StoreSink(settings, owner)
        except StoreLockedError:
            holder = lock_holder(settings.events_dir / "writer.lock")
            sink = ReceiverSink(settings, holder, wait)
    try:
        yield sink
    finally:
        sink.close()
