"""Reading a YAML file of items (alert rules, schedule jobs) into pydantic models.

This module owns what those files share: reading the YAML, the value types both take (durations
through :mod:`okta_alerts.times`, time zones), and :func:`explain`, which turns a pydantic
``ValidationError`` into the one line the CLI prints, naming the file, the item and the key::

    rules.yaml: rule 'a': field 'window': '15x' is not a duration like 15m, 1h or 14d
    schedule.yaml: job 'a': key 'notify' must be true or false

A validator raises ``ValueError`` for a problem with the value (printed after a colon) and
:func:`key_problem` for one said of the key itself (printed without one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import PlainValidator, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from okta_alerts.errors import ConfigError
from okta_alerts.times import parse_duration

Loc = tuple[int | str, ...]
UTC_ZONE = ZoneInfo("UTC")
KEY_PROBLEM = "key_problem"


def key_problem(text: str) -> PydanticCustomError:
    """An error said of the key itself: ``key 'notify' must be true or false`` (no colon)."""
    return PydanticCustomError(KEY_PROBLEM, "{text}", {"text": text})


def parse_zone(value: Any) -> ZoneInfo:
    """An IANA time zone such as ``UTC`` or ``Europe/Berlin``."""
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone like UTC or Europe/Berlin") from None


Duration = Annotated[timedelta, PlainValidator(parse_duration)]
Zone = Annotated[ZoneInfo, PlainValidator(parse_zone)]


def read_yaml(path: Path, what: str, setting: str, error: type[ConfigError]) -> Any:
    """The parsed YAML of ``path``; ``error`` says which setting names a missing file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist (set {setting})") from None
    except yaml.YAMLError as exc:
        raise error(f"{what} file {path} is not valid YAML: {exc}") from None


@dataclass(frozen=True)
class Wording:
    """How one file's messages name its keys."""

    noun: str  # "field" or "key"
    known: tuple[str, ...]  # every key an item may have, in the order problems are reported
    required: Mapping[str, str] = field(default_factory=dict)  # key -> after "is required"
    elsewhere: str = ""  # a known key this item does not take "does not apply to" what


def explain(error: ValidationError, words: Wording, item: Callable[[Loc], str]) -> str:
    """One line for the first problem of the first item with one in ``error``.

    ``item`` names what a location points into (the file, or a job of it), given the location
    without its last part when that is a key. Within an item, unknown keys come first, then
    the other problems in ``words.known`` order.
    """
    problems = error.errors()
    first = _split(problems[0]["loc"])[0]
    mine = [p for p in problems if _split(p["loc"])[0] == first]
    problem = min(mine, key=lambda p: _rank(p, words))
    return item(first) + _say(problem, words)


def _split(loc: Loc) -> tuple[Loc, str | None]:
    """(where the item is, the key) of an error location; no key for the item as a whole."""
    if loc and isinstance(loc[-1], str):
        return loc[:-1], loc[-1]
    return loc, None


def _rank(problem: ErrorDetails, words: Wording) -> tuple[int, int]:
    key = _split(problem["loc"])[1]
    if key not in words.known:
        return (0 if problem["type"] == "extra_forbidden" else 1, len(words.known))
    return (1, words.known.index(key))


def _say(problem: ErrorDetails, words: Wording) -> str:
    """The message after the item's name, with its separator."""
    kind, key = problem["type"], _split(problem["loc"])[1]
    name = f"{words.noun} {key!r}"
    if kind == "extra_forbidden" and key not in words.known:
        return f": unknown {name}; known: {', '.join(words.known)}"
    if kind == "extra_forbidden":
        return f": {name} does not apply to {words.elsewhere}"
    if kind == "missing":
        return f": {name} is required{words.required.get(key or '', '')}"
    text = str(problem["ctx"]["error"]) if kind == "value_error" else problem["msg"]
    subject = "" if key is None else f": {name}"
    return f"{subject}{' ' if kind == KEY_PROBLEM else ': '}{text}"
