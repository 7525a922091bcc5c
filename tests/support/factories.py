"""Hand-built Okta LogEvents for tests with exactly known answers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

_ids = itertools.count(1)


def iso(when: datetime) -> str:
    """Okta's timestamp format: UTC with milliseconds and a Z."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(
    event_type: str = "user.session.start",
    published: datetime | str = datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
    *,
    uuid: str | None = None,
    actor: str = "jane.doe@example.com",
    actor_id: str | None = None,
    ip: str | None = "203.0.113.7",
    result: str = "SUCCESS",
    reason: str | None = None,
    display_message: str | None = None,
    app: str | None = None,
    app_id: str | None = None,
    user: str | None = None,
    user_type: str = "User",
    country: str | None = "United States",
    as_number: int | None = 7922,
    as_org: str | None = "comcast",
    user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    **extra: Any,
) -> dict[str, Any]:
    """One LogEvent shaped like Okta's, with only the fields a test cares about varied."""
    number = next(_ids)
    targets: list[dict[str, Any]] = []
    if app is not None:
        targets.append(
            {
                "id": app_id or f"0oa{number:017d}",
                "type": "AppInstance",
                "alternateId": app,
                "displayName": app,
            }
        )
    if user is not None:
        targets.append(
            {
                "id": f"00u{abs(hash(user)) % 10**17:017d}",
                "type": user_type,
                "alternateId": user,
                "displayName": user.split("@")[0],
            }
        )
    event: dict[str, Any] = {
        "uuid": f"00000000-0000-4000-8000-{number:012d}" if uuid is None else uuid,
        "published": published if isinstance(published, str) else iso(published),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO" if result == "SUCCESS" else "WARN",
        "displayMessage": display_message or event_type,
        "actor": {
            "id": actor_id or f"00u{abs(hash(actor)) % 10**17:017d}",
            "type": "User",
            "alternateId": actor,
            "displayName": actor.split("@")[0],
            "detailEntry": None,
        },
        "client": {
            "userAgent": {"rawUserAgent": user_agent, "os": "Linux", "browser": "FIREFOX"},
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": {
                "city": "Springfield",
                "state": None,
                "country": country,
                "postalCode": "12345",
                "geolocation": {"lat": 40.0, "lon": -89.0},
            },
        },
        "outcome": {"result": result, "reason": reason},
        "target": targets or None,
        "transaction": {"type": "WEB", "id": f"tx{number}", "detail": {}},
        "debugContext": {"debugData": {"requestId": f"req{number}"}},
        "securityContext": {
            "asNumber": as_number,
            "asOrg": as_org,
            "isp": as_org,
            "domain": None,
            "isProxy": False,
        },
        "request": {"ipChain": [{"ip": ip, "version": "V4", "source": None}]},
    }
    event.update(extra)
    return event


def envelope(events: list[dict[str, Any]], event_id: str | None = None) -> dict[str, Any]:
    """An event-hook delivery as Okta POSTs it."""
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
        "eventId": event_id or f"delivery-{next(_ids)}",
        "eventTime": "2026-11-28T12:00:00.000Z",
        "contentType": "application/json",
        "data": {"events": events},
    }
