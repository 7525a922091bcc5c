"""What ``okta-alerts status`` says about the System Log side: hook gaps and the saved cursors."""

from __future__ import annotations

from typing import Any, TypedDict

from okta_alerts.config import Settings
from okta_alerts.read.hookgaps import hook_health
from okta_alerts.systemlog.cursors import (
    BACKFILL_FILE,
    POLL_FILE,
    describe_backfill,
    describe_poll,
    load_backfill_cursor,
    load_poll_cursor,
)


class SystemLogStatus(TypedDict):
    hook_gaps_last_24h: int
    hook_gaps_by_hour: list[dict[str, Any]]  # hour, event_type, missed: read.hookgaps' rows
    system_log_poll: str
    system_log_backfill: str


def system_log_status(settings: Settings, hours: int = 24) -> SystemLogStatus:
    """Hook gaps of the last ``hours`` and the saved cursors."""
    health = hook_health(settings.data_dir, hours)
    return {
        "hook_gaps_last_24h": health["missed"],
        "hook_gaps_by_hour": health["by_hour"],
        "system_log_poll": describe_poll(load_poll_cursor(settings.data_dir / POLL_FILE)),
        "system_log_backfill": describe_backfill(
            load_backfill_cursor(settings.data_dir / BACKFILL_FILE)
        ),
    }


def status_lines(info: SystemLogStatus) -> list[str]:
    """The human-readable lines of :func:`system_log_status`."""
    lines = [
        f"hook gaps:      {info['hook_gaps_last_24h']} events in the last 24 h found only by "
        "System Log polling/backfill (view hook_gaps)"
    ]
    lines += [
        f"                {row['hour'][:16]}  {row['missed']:>5}  {row['event_type']}"
        for row in info["hook_gaps_by_hour"]
    ]
    lines.append(f"poll:           {info['system_log_poll']}")
    lines.append(f"backfill:       {info['system_log_backfill']}")
    return lines
