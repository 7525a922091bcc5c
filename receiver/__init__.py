"""The Starlette app that Okta's event hooks call. Imports okta_alerts, never the reverse.

The package is imported by front processes too, so it loads nothing here (no store, no DuckDB):
import ``receiver.app.create_app`` for the main process's app.
"""
