"""The event hook okta-alerts wants, as Okta's ``EventHook`` object, and how one differs from it.

The hook (docs/okta.md §6): ``channel`` HTTP 1.0.0 with the receiver's URL, the custom headers
and ``authScheme`` ``HEADER`` with ``OKTA_ALERTS_AUTH_HEADER`` and ``OKTA_ALERTS_AUTH_SECRET``;
``events`` ``EVENT_TYPE`` with the plan's hook-eligible types and, with ``--filter``, an
``EXPRESSION_LANGUAGE`` filter per type. Okta never returns the secret (``authScheme.value`` is
write-only) and may answer the header name in lower case, so :func:`differences` compares
everything else; the secret is compared by its fingerprint (:mod:`~.record`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from okta_alerts.config import Settings, is_loopback
from okta_alerts.errors import ConfigError
from okta_alerts.eventhooks.plan import Plan

Hook = dict[str, Any]
DESCRIPTION = "okta-alerts receiver: set up by `okta-alerts okta connect`"
MAX_URI = 1024  # Okta's limit on channel.config.uri
CHANNEL_CHANGES = ("URL", "authentication header", "custom headers")  # phrases of differences()


def check_hook_url(url: str) -> str:
    """The receiver's public URL: https (plain http only for loopback addresses, i.e. tests)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"--url must be the receiver's https URL, not {url!r}")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"--url must use https: Okta calls event hooks over HTTPS only ({url!r}); put the "
            "receiver behind a TLS proxy (README: Running behind a TLS reverse proxy)"
        )
    if parts.username or parts.password or parts.fragment:
        raise ConfigError(f"--url must not hold a user, password or fragment: {url!r}")
    if len(url) > MAX_URI:
        raise ConfigError(f"--url is longer than Okta's limit of {MAX_URI} characters")
    return url.strip()


def desired_hook(name: str, url: str, settings: Settings, plan: Plan) -> Hook:
    """The full ``EventHook`` to create or PUT (PUT replaces: the secret is always sent)."""
    if settings.auth_secret is None or not settings.auth_secret.get_secret_value().strip():
        raise ConfigError(
            "OKTA_ALERTS_AUTH_SECRET is not set: set it to the receiver's secret (the value Okta "
            "must send in OKTA_ALERTS_AUTH_HEADER)"
        )
    if not plan.subscribe:
        raise ConfigError("no hook-eligible event type is needed: there is nothing to subscribe")
    events: dict[str, Any] = {"type": "EVENT_TYPE", "items": list(plan.subscribe)}
    if plan.filters:
        events["filter"] = {
            "type": "EXPRESSION_LANGUAGE",
            "eventFilterMap": [
                {"event": event, "condition": {"expression": expression}}
                for event, expression in sorted(plan.filters.items())
            ],
        }
    config = {
        "uri": url,
        "headers": [{"key": k, "value": v} for k, v in sorted(settings.custom_headers.items())],
        "authScheme": {
            "type": "HEADER",
            "key": settings.auth_header,
            "value": settings.auth_secret.get_secret_value(),
        },
    }
    return {
        "name": name,
        "description": DESCRIPTION,
        "events": events,
        "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
    }


def differences(remote: Hook, wanted: Hook) -> list[str]:
    """What differs between the hook Okta has and the one wanted (secret aside), as phrases."""
    found: list[str] = []
    have, want = _config(remote), _config(wanted)
    if have.get("uri") != want.get("uri"):
        found.append(f"URL {have.get('uri')} -> {want.get('uri')}")
    have_auth, want_auth = have.get("authScheme") or {}, want.get("authScheme") or {}
    if str(have_auth.get("type")) != "HEADER" or (
        str(have_auth.get("key", "")).lower() != str(want_auth.get("key", "")).lower()
    ):
        found.append(f"authentication header -> {want_auth.get('key')}")
    if _headers(have) != _headers(want):
        found.append("custom headers")
    have_types, want_types = set(subscribed(remote)), set(subscribed(wanted))
    if have_types != want_types:
        added, removed = len(want_types - have_types), len(have_types - want_types)
        found.append(f"event types (+{added} -{removed})")
    if filters_of(remote) != filters_of(wanted):
        found.append("filters")
    return found


def subscribed(hook: Hook) -> list[str]:
    events = hook.get("events") or {}
    items = events.get("items") if isinstance(events, dict) else None
    return [str(i) for i in items] if isinstance(items, list) else []


def filters_of(hook: Hook) -> dict[str, str]:
    events = hook.get("events") or {}
    found = (events.get("filter") or {}) if isinstance(events, dict) else {}
    pairs = found.get("eventFilterMap") or [] if isinstance(found, dict) else []
    return {
        str(p.get("event")): str((p.get("condition") or {}).get("expression"))
        for p in pairs
        if isinstance(p, dict)
    }


def _config(hook: Hook) -> dict[str, Any]:
    channel = hook.get("channel") or {}
    config = channel.get("config") if isinstance(channel, dict) else None
    return config if isinstance(config, dict) else {}


def _headers(config: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (str(h.get("key", "")).lower(), str(h.get("value", "")))
        for h in config.get("headers") or []
        if isinstance(h, dict)
    }
