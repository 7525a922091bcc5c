"""Saved System Log positions: small JSON files under the data dir, replaced atomically.

``data/backfill.json`` holds the running backfill's next link, ``data/poll.json`` the poller's
polling cursor. Each is written after the page before it is durable (write a temp file, fsync,
rename, fsync the folder), so a killed process continues from its last committed page: at worst
that page is fetched again, and the store's uuid deduplication drops the repeats.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from okta_alerts.errors import OktaAlertsError
from okta_alerts.journal import fsync_dir

BACKFILL_FILE = "backfill.json"
POLL_FILE = "poll.json"


class CursorFileError(OktaAlertsError):
    """A saved cursor file cannot be read."""


def load_cursor(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none yet."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CursorFileError(
            f"cannot read {path} ({exc}); delete it (or pass --restart) to start over"
        ) from None
    if not isinstance(data, dict):
        raise CursorFileError(f"{path} is not a JSON object; delete it to start over")
    return data


def save_cursor(path: Path, state: dict[str, Any]) -> None:
    """Replace ``path`` with ``state`` atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        handle.write(orjson.dumps(state, option=orjson.OPT_INDENT_2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def describe_backfill(state: dict[str, Any] | None) -> str:
    """One line about a saved backfill: its arguments, start and progress."""
    if not state:
        return "none run"
    key = state.get("key", {})
    typed = " ".join(f"--{k} {key[k]}" for k in ("since", "until") if key.get(k))
    return (
        f"{typed or 'since ' + str(state.get('since'))}, started {state.get('started_at')}, "
        f"{state.get('pages', 0)} pages / {state.get('events', 0)} events"
        + (", complete" if state.get("done") else ", unfinished")
    )


def describe_poll(state: dict[str, Any] | None) -> str:
    """One line about the saved polling cursor."""
    if not state:
        return "not started"
    return f"last poll {state.get('polled_at', '-')}, {state.get('events', 0)} events stored"
