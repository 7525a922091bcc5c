"""Turn on System Log polling for the types the hook cannot deliver: edit the TOML settings file.

``okta connect`` sets ``poll_event_types`` (the plan's polled types) and, when polling is off,
``poll_seconds`` in the settings file (``--config``, ``$OKTA_ALERTS_CONFIG``, else
``./okta-alerts.toml``, created if missing). The rest of the file is kept as it is: only those
two top-level keys are replaced or added, the result is checked by parsing it, and the file is
replaced atomically. When the file cannot be written, or the environment sets those variables
(the environment wins over the file), it says what to set instead.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from okta_alerts.config import DEFAULT_CONFIG_FILE, Settings, env_name, set_in_environment
from okta_alerts.files import write_atomic

DEFAULT_POLL_SECONDS = 60  # what `okta-alerts poll` uses when polling is off
_TABLE = re.compile(r"^\s*\[")
COMMENT = "# okta-alerts okta connect: what the event hook cannot deliver comes from polling\n"


@dataclass
class PollChange:
    """What happened to the polling settings: ``unchanged``, ``written``, ``would write``, or
    ``set by hand`` (``lines`` are the settings to add)."""

    action: str
    path: Path | None
    values: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    reason: str = ""


def wanted_values(settings: Settings, poll: tuple[str, ...]) -> dict[str, Any]:
    """The settings that poll exactly ``poll`` (empty when they already do)."""
    values: dict[str, Any] = {}
    if tuple(sorted(settings.poll_event_types)) != tuple(sorted(poll)):
        values["poll_event_types"] = list(poll)
    if settings.poll_seconds <= 0:
        values["poll_seconds"] = DEFAULT_POLL_SECONDS
    return values


def apply_poll_settings(
    settings: Settings, poll: tuple[str, ...], config_file: Path | None, dry_run: bool
) -> PollChange:
    values = wanted_values(settings, poll) if poll else {}
    path = config_file or Path(DEFAULT_CONFIG_FILE)
    if not values:
        return PollChange("unchanged", path, values)
    overridden = [env_name(k) for k in values if set_in_environment(k)]
    if overridden:
        reason = f"the environment sets {', '.join(overridden)}, which wins over {path}"
        return PollChange("set by hand", None, values, environment_lines(values), reason)
    if dry_run:
        return PollChange("would write", path, values)
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        write_atomic(path, set_toml_keys(text, values).encode())
    except (OSError, ValueError) as exc:
        reason = f"{path} could not be written ({exc})"
        return PollChange("set by hand", None, values, toml_lines(values), reason)
    return PollChange("written", path, values)


def set_toml_keys(text: str, values: dict[str, Any]) -> str:
    """``text`` (TOML) with the top-level ``values`` replaced or added; the rest unchanged."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    at = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    insert_at: int | None = None
    for key in values:
        span = _top_level_span(lines[:at], key)
        if span is not None:
            del lines[span[0] : span[1]]
            at -= span[1] - span[0]
            insert_at = span[0] if insert_at is None else min(insert_at, span[0])
    new = toml_lines(values)
    if insert_at is None:  # added: after the top-level keys, before any table
        insert_at = at
        new = [COMMENT, *new, *(["\n"] if at < len(lines) else [])]
        if at and lines[at - 1].strip():
            new.insert(0, "\n")
    lines[insert_at:insert_at] = new
    result = "".join(lines)
    parsed = tomllib.loads(result)  # a ValueError (TOMLDecodeError) means: not written
    if any(parsed.get(k) != v for k, v in values.items()):
        raise ValueError("the edited file does not read back the same values")
    return result


def _top_level_span(lines: list[str], key: str) -> tuple[int, int] | None:
    """Lines [start, end) of the top-level assignment of ``key`` (a value may span lines)."""
    start = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i, line in enumerate(lines):
        if start.match(line):
            for end in range(i + 1, len(lines) + 1):
                try:
                    if key in tomllib.loads("".join(lines[i:end])):
                        return i, end
                except tomllib.TOMLDecodeError:
                    continue
    return None


def toml_lines(values: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in values.items():
        if isinstance(value, list):
            items = "".join(f"    {orjson.dumps(v).decode()},\n" for v in value)
            lines.append(f"{key} = [\n{items}]\n")
        else:
            lines.append(f"{key} = {orjson.dumps(value).decode()}\n")
    return lines


def environment_lines(values: dict[str, Any]) -> list[str]:
    return [
        f"{env_name(k)}={','.join(v) if isinstance(v, list) else v}\n" for k, v in values.items()
    ]
