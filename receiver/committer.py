"""Group commit: many concurrent deliveries share one journal write and one fsync.

Handlers hand a validated batch to :meth:`GroupCommitter.submit` and wait. One loop takes everything
queued, writes it to the journal and fsyncs it on the journal thread, then wakes those waiters,
which answer Okta. Accepted deliveries are counted here, where every commit passes. While one
commit is on disk the next group gathers, so the cost of an fsync is shared by everyone who
arrived during it. Pending bytes are bounded: when the disk falls behind, handlers wait to enqueue
rather than growing memory. Sealing and compaction run on a second thread and never hold up
acknowledgements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from okta_alerts.errors import StoreUnavailableError
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import COMPACT_PARTS, JOURNAL_ROTATE_BYTES, StoreWriter
from receiver.metrics import ReceiverMetrics

log = logging.getLogger("okta_alerts.receiver")

MAX_PENDING_BYTES = 64 * 1024 * 1024
SEALER_POLL_SECONDS = 0.05  # how often a due rotation looks whether the sealer is free


class GroupCommitter:
    def __init__(
        self,
        writer: StoreWriter,
        metrics: ReceiverMetrics,
        seal_seconds: float,
        compact_seconds: float,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.seal_seconds = seal_seconds
        self.compact_seconds = compact_seconds
        self._journal_thread = ThreadPoolExecutor(1, "okta-alerts-journal")
        self._seal_thread = ThreadPoolExecutor(1, "okta-alerts-sealer", initializer=_lower_priority)
        self._queue: list[tuple[bytes, bytes, asyncio.Future[None]]] = []
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._unsealed: dict[Path, float] = {}  # closed journal → when its first ack happened
        self._sealing: set[Path] = set()  # handed to the sealer, not finished
        self._journal_first_ack: float | None = None
        self._last_compact = time.monotonic()
        self._compacting = False
        self.last_received_at: datetime | None = None
        self.events_acknowledged = 0
        metrics.stored.set(writer.manifest.rows)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def submit(self, batch: Batch, started: float) -> None:
        """Return once ``batch`` is durable in the journal; raise StoreUnavailableError if not.

        ``started`` (``time.perf_counter()``) is when the delivery's request started. Counts the
        delivery as accepted, or as store_unavailable before raising StoreUnavailableError.
        """
        if batch.size:  # a delivery without events has nothing to make durable
            record = self.writer.next_record_id(batch.size)
            lines, keys = batch.record(record, datetime.now(UTC)), batch.keys(record)
            try:
                await self._durable(lines, keys)
            except StoreUnavailableError:
                self.metrics.deliveries.labels("store_unavailable").inc()
                raise
        self.last_received_at = datetime.now(UTC)
        self.events_acknowledged += batch.size
        self.metrics.deliveries.labels("accepted").inc()
        self.metrics.events.labels("accepted").inc(batch.size)
        self.metrics.ack_seconds.observe(time.perf_counter() - started)

    async def _durable(self, lines: bytes, keys: bytes) -> None:
        if self._stopping:
            raise StoreUnavailableError("the receiver is shutting down")
        while self._queued_bytes + len(lines) > MAX_PENDING_BYTES and self._queue:
            self._drained.clear()
            await self._drained.wait()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((lines, keys, future))
        self._queued_bytes += len(lines)
        self.metrics.queue_depth.set(len(self._queue))
        self._wakeup.set()
        await future

    async def stop(self) -> None:
        """Commit what is queued, seal the journal, and wait for the sealer to finish."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        loop = asyncio.get_running_loop()
        try:
            path = await loop.run_in_executor(self._journal_thread, self.writer.rotate)
        except OSError as exc:
            log.error("could not close the journal (%s); it is sealed on the next start", exc)
            path = None
        if path is not None:
            self._unsealed[path] = self._journal_first_ack or time.monotonic()
        for unsealed in list(self._unsealed):
            if unsealed not in self._sealing:
                self._seal_thread.submit(self._seal, unsealed)
        await loop.run_in_executor(self._seal_thread, lambda: None)  # drain the sealer queue
        self._journal_thread.shutdown()
        self._seal_thread.shutdown()

    @property
    def seal_lag(self) -> float:
        """Seconds since the oldest acknowledged event that readers cannot see yet."""
        starts = list(self._unsealed.values())
        if self._journal_first_ack is not None:
            starts.append(self._journal_first_ack)
        return time.monotonic() - min(starts) if starts else 0.0

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            timeout = max(0.0, self.writer.journal_opened + self.seal_seconds - time.monotonic())
            if self._sealing:  # a due rotation waits for the sealer: look again soon
                timeout = max(timeout, SEALER_POLL_SECONDS)
            if not self._queue and not self._stopping and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)
            self._wakeup.clear()
            if self._queue:
                group, self._queue, self._queued_bytes = self._queue, [], 0
                self.metrics.queue_depth.set(0)
                self._drained.set()
                await self._commit(loop, group)
            elif self._stopping:
                return
            await self._maybe_rotate(loop)
            self.metrics.seal_lag.set(self.seal_lag)

    async def _commit(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[tuple[bytes, bytes, asyncio.Future[None]]],
    ) -> None:
        try:
            await loop.run_in_executor(self._journal_thread, self._write, group)
        except OSError as exc:
            log.error("journal write failed: %s", exc)
            error = StoreUnavailableError(f"the journal could not be written ({exc.strerror})")
            for _, _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        self.metrics.commits.inc()
        if self._journal_first_ack is None:
            self._journal_first_ack = time.monotonic()
        for _, _, future in group:
            if not future.done():
                future.set_result(None)

    def _write(self, group: list[tuple[bytes, bytes, asyncio.Future[None]]]) -> None:
        self.writer.append((line, keys) for line, keys, _ in group)
        self.writer.sync()

    async def _maybe_rotate(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        # while the sealer is busy the journal keeps growing: parts grow with the rate
        idle = not self._sealing
        due = idle and now - self.writer.journal_opened >= self.seal_seconds
        if due or self.writer.failed or self.writer.journal_bytes >= JOURNAL_ROTATE_BYTES:
            try:
                path = await loop.run_in_executor(self._journal_thread, self.writer.rotate)
            except OSError as exc:
                log.error("could not start a new journal (%s); retrying", exc.strerror)
                return
            if path is not None:
                self._unsealed[path] = self._journal_first_ack or now
                self._journal_first_ack = None
            for unsealed in list(self._unsealed):
                if unsealed not in self._sealing:
                    self._sealing.add(unsealed)
                    self._seal_thread.submit(self._seal, unsealed)
        compact_due = now - self._last_compact >= self.compact_seconds
        if not self._compacting and (compact_due or self.writer.small_parts >= COMPACT_PARTS):
            self._compacting = True
            self._last_compact = now
            self._seal_thread.submit(self._compact)

    def _seal(self, path: Path) -> None:
        try:
            result = self.writer.seal(path)
        except Exception as exc:
            log.error("sealing %s failed (%s); it stays and is retried", path.name, exc)
            return
        finally:
            self._sealing.discard(path)
        self._unsealed.pop(path, None)
        self.metrics.sealed.inc(result.stored)
        self.metrics.stored.set(self.writer.manifest.rows)

    def _compact(self) -> None:
        try:
            self.writer.compact()
        except Exception:
            log.exception("compaction failed; the parts stay readable and it is retried")
        finally:
            self._compacting = False
            self.metrics.stored.set(self.writer.manifest.rows)


BACKGROUND_NICENESS = 10  # sealing and compaction yield the CPU to acknowledgements


def _lower_priority() -> None:
    """Run this thread (Linux: a task of its own) at a lower CPU priority than the event loop."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
