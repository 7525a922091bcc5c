"""The event store: one writer (journal → sealed Parquet part → merged parts) and the
on-disk format readers share (the manifest and the file layout).

Import the parts you need (``okta_alerts.store.writer``, ``okta_alerts.store.manifest``, ...):
this package loads nothing itself, so readers can use the format without loading the writer.
"""
