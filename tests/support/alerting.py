"""A small alerting scenario shared by the notification and schedule tests: two rules and a
lockout storm from one IP that fires both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.factories import make_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SPRAY_IP = "203.0.113.66"
RULES = """
- id: lockout-surge
  title: Okta lockout surge
  view: lockouts
  kind: threshold
  window: 15m
  threshold: 10
  baseline: 1d
  top: [actor_alternate_id]
  severity: high
- id: password-spray
  title: Password spray
  view: lockouts
  kind: distinct
  field: actor_alternate_id
  group_by: [client_ip]
  window: 1h
  threshold: 5
  severity: critical
"""


def lockout_storm(end: datetime) -> list[dict[str, Any]]:
    """12 users locked out from one IP in the 4 minutes before ``end``; one lockout a day before."""
    events = [
        make_event("user.account.lock", end - timedelta(seconds=20 * i + 10),
                   actor=f"user{i}@example.com", ip=SPRAY_IP, reason="LOCKED_OUT")
        for i in range(12)
    ]  # fmt: skip
    events.append(make_event("user.account.lock", end - timedelta(hours=20), ip="198.51.100.9"))
    return events
