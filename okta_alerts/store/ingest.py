"""``okta-alerts ingest``: LogEvents from files into the store (or the receiver that owns it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from okta_alerts.config import Settings
from okta_alerts.okta.eventfiles import IngestReport, batches_from_files
from okta_alerts.redaction import typed_names
from okta_alerts.store.sink import open_sink


def ingest_files(
    settings: Settings, paths: list[Path], advance: Callable[[Path], None] | None = None
) -> IngestReport:
    """Store the valid events of ``paths`` (bad items are reported and skipped).

    Through the store's writer when the data dir is free, else handed to the running receiver
    that owns it; either way the events are visible to readers when this returns, and events
    already stored are not stored twice. What an unknown actor typed is stored as its token
    (:mod:`okta_alerts.redaction`). ``advance`` is called after each file.
    """
    report = IngestReport()
    with open_sink(settings, owner="okta-alerts ingest") as sink:
        report.via = sink.via
        for batch in batches_from_files(paths, report, advance, typed=typed_names(settings)):
            sink.write(batch)
    return report
