"""Times and durations, parsed and printed in one place.

Durations are written ``30s``, ``15m``, ``1h``, ``14d``, ``2w`` or combined (``1h30m``). Times
are ISO-8601; one without an offset is UTC. Okta writes times as UTC with milliseconds and a
``Z`` (``2023-03-28T17:03:37.093Z``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from okta_alerts.errors import WindowError

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# ISO-8601 date-times in the forms DuckDB casts to TIMESTAMPTZ; validated whole-list by
# okta_alerts.okta.delivery with one regex, so the pattern is shared.
TIMESTAMP_PATTERN = (
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN, re.ASCII)  # \d: 0-9 only, as DuckDB reads them
_NANOS = re.compile(r"(\.\d{6})\d+")


def parse_duration(value: Any) -> timedelta:
    """``"15m"``, ``"1h"``, ``"14d"``, ``"1h30m"`` (units s m h d w) as a positive timedelta;
    ValueError saying what is expected otherwise."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if not text or _DURATION.sub("", text) or not _DURATION.search(text):
        raise ValueError(f"{value!r} is not a duration like 15m, 1h or 14d")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(text))
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """``timedelta(minutes=90)`` as ``1h30m``."""
    seconds, parts = int(delta.total_seconds()), []
    for unit in ("w", "d", "h", "m", "s"):
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def format_span(delta: timedelta) -> str:
    """A period as people read it: whole days in days (``14d``, not ``2w``), else
    :func:`format_duration`."""
    if delta >= timedelta(days=1) and delta % timedelta(days=1) == timedelta(0):
        return f"{delta.days}d"
    return format_duration(delta)


def parse_time(value: datetime | str) -> datetime:
    """A UTC datetime from a datetime or an ISO-8601 string; naive values are taken as UTC."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise WindowError(
                f"cannot read {text!r} as a time; use ISO-8601 such as 2026-11-28T12:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise WindowError(f"expected a time, got {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_when(value: str, now: datetime) -> datetime:
    """``7d``/``12h``/``30m`` back from ``now``, or an ISO-8601 time; ValueError otherwise."""
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        return parse_time(value)
    except WindowError:
        raise ValueError(
            f"{value!r} is neither a duration like 7d or 12h nor a time like 2026-11-28T12:00Z"
        ) from None


def is_timestamp(value: str) -> bool:
    """True for ISO-8601 date-times such as Okta's ``2023-03-28T17:03:37.093Z``."""
    if not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(_NANOS.sub(r"\1", value))  # range checks; Python keeps 6 digits
    except ValueError:
        return False
    return True


def published_time(text: str) -> datetime:
    """The UTC time of a ``published`` value that :func:`is_timestamp` accepted (no offset: UTC)."""
    try:
        when = datetime.fromisoformat(text)  # Okta's form, quickly
    except ValueError:
        when = datetime.fromisoformat(_NANOS.sub(r"\1", text))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def okta_time(when: datetime) -> str:
    """Okta's timestamp format: UTC with milliseconds and a Z."""
    text = when.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def format_minute(when: datetime) -> str:
    """``2026-11-28 13:05`` in UTC: how times are shown to people."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
