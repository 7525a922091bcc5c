"""Okta's System Log API: the client, backfill, polling, their saved cursors and status."""
