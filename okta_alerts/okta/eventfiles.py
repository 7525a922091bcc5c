"""Reading event files for ``okta-alerts ingest``: NDJSON, JSON arrays, hook envelopes, gzip.

Each file is read as a stream of items; a bad item is reported with its line (NDJSON) or index
(array) and skipped, good ones are kept. Items are LogEvents or event-hook envelopes (whose
``data.events`` are expanded). Events are checked by the rules of System Log pages
(:mod:`okta_alerts.okta.pages`) and kept as the bytes the file holds (line breaks made spaces).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from okta_alerts.errors import DeliveryError, OktaAlertsError
from okta_alerts.okta.delivery import TOO_DEEP, Batch, envelope_events, one_line
from okta_alerts.okta.pages import Checked, array_items
from okta_alerts.okta.typednames import TypedNames

BATCH_EVENTS = 2000


@dataclass
class IngestReport:
    files: int = 0
    events: int = 0  # valid events read (repeats of stored events are dropped by the store)
    problems: list[str] = field(default_factory=list)  # the first 50, "where: what"
    bad: int = 0
    via: str = ""  # where the events went: the store, or the running receiver

    def problem(self, where: str, what: str) -> None:
        self.bad += 1
        if len(self.problems) < 50:
            self.problems.append(f"{where}: {what}")


def open_events_file(path: Path) -> io.BufferedIOBase:
    """``path`` opened for reading bytes, decompressed when it is gzip."""
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    if handle.read(2) == b"\x1f\x8b":
        handle.close()
        return gzip.open(path, "rb")
    handle.seek(0)
    return handle


def read_items(path: Path, report: IngestReport) -> Iterator[tuple[str, bytes]]:
    """Yield (where, JSON text) for each item of one file, reporting unreadable ones."""
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
                msgspec.json.decode(stripped, type=msgspec.Raw)
            except msgspec.DecodeError:
                whole_document = True  # a pretty-printed object spans lines
            except RecursionError:
                pass  # one line, reported as such
        if whole_document:
            yield from _document(path, one_line(first + handle.read()), report)
        else:
            yield from _lines(path, first, handle)


_ITEM = msgspec.json.Decoder(msgspec.Raw)


def _document(path: Path, data: bytes, report: IngestReport) -> Iterator[tuple[str, bytes]]:
    if data.lstrip().startswith(b"["):
        items = array_items(data)
    else:
        try:
            items = [bytes(_ITEM.decode(data))]
        except msgspec.DecodeError as exc:
            items = str(exc)
        except RecursionError:
            items = f"it {TOO_DEEP}"
    if isinstance(items, str):
        report.problem(str(path), f"not valid JSON ({items})")
        return
    for index, item in enumerate(items):
        yield f"{path} item {index}", item


def _lines(path: Path, first: bytes, handle: io.BufferedIOBase) -> Iterator[tuple[str, bytes]]:
    for number, line in enumerate(_chain(first, handle), start=1):
        if line.strip():
            yield f"{path}:{number}", line.strip()


def _chain(first: bytes, handle: io.BufferedIOBase) -> Iterator[bytes]:
    yield first
    yield from handle


class _Probe(msgspec.Struct):
    data: msgspec.Raw = msgspec.Raw(b"null")


class _DataProbe(msgspec.Struct):
    events: msgspec.Raw = msgspec.Raw(b"")


_PROBE = msgspec.json.Decoder(_Probe)
_DATA_PROBE = msgspec.json.Decoder(_DataProbe)


def expand(where: str, item: bytes, report: IngestReport) -> Iterator[tuple[str, bytes]]:
    """The events of one item: the item itself, or the ``data.events`` of an envelope."""
    try:
        data = bytes(_PROBE.decode(item).data)
    except msgspec.ValidationError:  # not an object: reported as an event
        yield where, item
        return
    except msgspec.DecodeError as exc:
        report.problem(where, f"not valid JSON ({exc})")
        return
    except RecursionError:
        report.problem(where, f"the item {TOO_DEEP}")
        return
    try:
        events = bytes(_DATA_PROBE.decode(data).events) if data.startswith(b"{") else b""
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        events = b""
    if not events:
        yield where, item  # a LogEvent (that may have a `data` key of its own)
        return
    if not events.startswith(b"["):
        report.problem(where, "`data.events` must be a list")
        return
    try:
        found, _ = envelope_events(item)
    except DeliveryError as exc:
        report.problem(where, exc.detail)
        return
    for index, event in enumerate(found):
        yield f"{where} data.events[{index}]", bytes(event)


class _Pending:
    """Events waiting to form the next batch, with where each came from."""

    def __init__(self, typed: TypedNames | None) -> None:
        self.typed = typed
        self.checked = Checked()
        self.wheres: list[str] = []

    def add(self, where: str, raw: bytes) -> None:
        self.checked.add(len(self.wheres), raw)
        self.wheres.append(where)

    def batch(self, report: IngestReport) -> Batch:
        self.checked.finish(self.typed)
        for place, why in self.checked.problems:
            report.problem(self.wheres[place], why)
        report.events += self.checked.valid
        return Batch(None, raw=self.checked.raw, keys=self.checked.keys)


def batches_from_files(
    paths: list[Path],
    report: IngestReport,
    advance: Callable[[Path], None] | None = None,
    typed: TypedNames | None = None,
) -> Iterator[Batch]:
    """Group the files' valid events into batches for the writer; with ``typed``, an unknown
    actor's typed name is replaced by its token first (okta_alerts.okta.typednames)."""
    pending = _Pending(typed)
    for path in paths:
        report.files += 1
        for where, item in read_items(path, report):
            for place, raw in expand(where, item, report):
                pending.add(place, raw)
                if len(pending.wheres) >= BATCH_EVENTS:
                    yield pending.batch(report)
                    pending = _Pending(typed)
        if advance is not None:
            advance(path)
    if pending.wheres:
        yield pending.batch(report)
