"""Reading event files for ``okta-alerts ingest``: NDJSON, JSON arrays, hook envelopes, gzip.

Each file is read as a stream of items; a bad item is reported with its line (NDJSON) or index
(array) and skipped, good ones are kept. Items are LogEvents or event-hook envelopes (whose
``data.events`` are expanded).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from okta_alerts.errors import OktaAlertsError
from okta_alerts.events import MAX_EVENT_BYTES, Batch, dedupe_events, event_problem

BATCH_EVENTS = 2000


@dataclass
class IngestReport:
    files: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)
    bad: int = 0

    def problem(self, where: str, what: str) -> None:
        self.bad += 1
        if len(self.problems) < 50:
            self.problems.append(f"{where}: {what}")


def open_events_file(path: Path) -> IO[bytes]:
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    if handle.read(2) == b"\x1f\x8b":
        handle.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    handle.seek(0)
    return handle


def read_events(path: Path, report: IngestReport) -> Iterator[dict[str, Any]]:
    """Yield the valid LogEvents of one file, reporting the bad ones."""
    try:
        handle = open_events_file(path)
    except OSError as exc:
        raise OktaAlertsError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        try:
            first = handle.readline()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise OktaAlertsError(f"cannot read {path}: {exc}") from None
        stripped = first.strip()
        whole_document = stripped.startswith(b"[")
        if stripped.startswith(b"{"):
            try:
                orjson.loads(stripped)
            except orjson.JSONDecodeError:
                whole_document = True  # a pretty-printed object spans lines
        if whole_document:
            yield from _document(path, first + handle.read(), report)
        else:
            yield from _lines(path, first, handle, report)


def _document(path: Path, data: bytes, report: IngestReport) -> Iterator[dict[str, Any]]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        report.problem(str(path), f"not valid JSON ({exc})")
        return
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        yield from _item(f"{path} item {index}", item, report)


def _lines(
    path: Path, first: bytes, handle: IO[bytes], report: IngestReport
) -> Iterator[dict[str, Any]]:
    number = 0
    for line in _chain(first, handle):
        number += 1
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            report.problem(f"{path}:{number}", f"not valid JSON ({exc})")
            continue
        yield from _item(f"{path}:{number}", item, report)


def _chain(first: bytes, handle: IO[bytes]) -> Iterator[bytes]:
    yield first
    yield from handle


def _item(where: str, item: Any, report: IngestReport) -> Iterator[dict[str, Any]]:
    if isinstance(item, dict) and isinstance(item.get("data"), dict) and "events" in item["data"]:
        events = item["data"]["events"]
        if not isinstance(events, list):
            report.problem(where, "`data.events` must be a list")
            return
        for index, event in enumerate(events):
            yield from _item(f"{where} data.events[{index}]", event, report)
        return
    problem = event_problem(item)
    if problem is None and len(orjson.dumps(item)) > MAX_EVENT_BYTES:
        problem = f"the event is over {MAX_EVENT_BYTES} bytes"
    if problem:
        report.problem(where, problem)
        return
    report.events += 1
    yield item


def batches_from_files(
    paths: list[Path], report: IngestReport, advance: Callable[[Path], None] | None = None
) -> Iterator[Batch]:
    """Group the files' valid events into batches for the writer."""
    pending: list[dict[str, Any]] = []
    for path in paths:
        report.files += 1
        for event in read_events(path, report):
            pending.append(event)
            if len(pending) >= BATCH_EVENTS:
                yield Batch(None, dedupe_events(pending))
                pending = []
        if advance is not None:
            advance(path)
    if pending:
        yield Batch(None, dedupe_events(pending))
