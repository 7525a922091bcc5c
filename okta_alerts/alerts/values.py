"""The values a rule's fields take, as pydantic types whose validators say what is expected.

Each validator takes the value as YAML gave it and returns it converted (``mon-fri`` as weekday
numbers, ``08:00-18:00`` as two clock times), or raises ``ValueError`` saying what is
expected, e.g. ``'urgent' is not one of: info, warning, high, critical``.
Durations and time zones are :mod:`okta_alerts.alerts.validation`'s (shared with the schedule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import time
from typing import Annotated, Any

from pydantic import PlainValidator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def one_of(choices: Iterable[str]) -> Callable[[Any], str]:
    """A validator taking exactly one of ``choices``."""
    options = tuple(choices)

    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of: {', '.join(options)}")
        return str(value)

    return parse


def _rule_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"{value!r} must be lowercase letters, digits, . _ or -")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} must be non-empty text")
    return value.strip()


def _count(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{value!r} must be a whole number >= 1")
    return value


def _positive(value: Any) -> float:
    if type(value) not in (int, float) or value <= 0:
        raise ValueError(f"{value!r} must be a number > 0")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} must be true or false")
    return value


def _columns(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
        raise ValueError("must be a column name or a list of column names")
    for column in items:
        if not _COLUMN.match(column):
            raise ValueError(f"{column!r} is not a column name")
    return tuple(items)


def _some_columns(value: Any) -> tuple[str, ...]:
    columns = _columns(value)
    if not columns:
        raise ValueError("name at least one column")
    return columns


def _rule_ids(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("must be a rule id or a list of rule ids")
    return tuple(_rule_id(item) for item in items)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{value!r} must be a name of letters, digits, _ or -")
    return value


def column_name(value: Any) -> str:
    """One column name."""
    if not isinstance(value, str):
        raise ValueError("must be one column name")
    (column,) = _columns(value)
    return column


def _tags(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) and t for t in items):
        raise ValueError("must be a tag or a list of tags")
    return tuple(items)


def _hours(value: Any) -> tuple[time, time]:
    match = _HOURS.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a range like 08:00-18:00")
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"{value!r} is not a valid range of clock times")
    return time(h1, m1), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)


def _days(value: Any) -> tuple[int, ...]:
    if isinstance(value, str) and "-" in value:
        first, _, last = value.lower().partition("-")
        if first in DAYS and last in DAYS:
            a, b = DAYS.index(first), DAYS.index(last)
            return tuple(range(a, b + 1)) if a <= b else (*range(a, 7), *range(b + 1))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(str(d).lower() in DAYS for d in items):
        raise ValueError(f"{value!r} is not days like mon-fri or [sat, sun]")
    return tuple(DAYS.index(str(d).lower()) for d in items)


RuleId = Annotated[str, PlainValidator(_rule_id)]
Text = Annotated[str, PlainValidator(_text)]
OptionalText = Annotated[str | None, PlainValidator(_text)]
Count = Annotated[int, PlainValidator(_count)]
Positive = Annotated[float, PlainValidator(_positive)]
Flag = Annotated[bool, PlainValidator(_flag)]
Column = Annotated[str, PlainValidator(column_name)]
Columns = Annotated[tuple[str, ...], PlainValidator(_columns)]
NonEmptyColumns = Annotated[tuple[str, ...], PlainValidator(_some_columns)]
RuleIds = Annotated[tuple[str, ...], PlainValidator(_rule_ids)]
OptionalName = Annotated[str | None, PlainValidator(_name)]
Tags = Annotated[tuple[str, ...], PlainValidator(_tags)]
Hours = Annotated[tuple[time, time] | None, PlainValidator(_hours)]
Days = Annotated[tuple[int, ...] | None, PlainValidator(_days)]
