"""The Starlette app that Okta's event hooks call. Imports okta_alerts, never the reverse."""

from receiver.app import create_app

__all__ = ["create_app"]
