"""Saved System Log positions: small JSON files under the data dir, replaced atomically.

``data/backfill.json`` holds the running backfill's next link, ``data/poll.json`` the poller's
polling cursor. Each is written after the page before it is durable (write a temp file, fsync,
rename, fsync the folder), so a killed process continues from its last committed page: at worst
that page is fetched again, and the store's uuid deduplication drops the repeats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

import orjson

from okta_alerts.errors import CursorFileError
from okta_alerts.files import write_atomic

BACKFILL_FILE = "backfill.json"
POLL_FILE = "poll.json"


class BackfillCursor(TypedDict):
    """``backfill.json``: one bounded query, where it stands and how far it got."""

    version: int
    key: dict[str, object]  # org, event types and the arguments as typed: the run's identity
    run: str  # names the run in the pages' delivery ids
    since: str
    until: str
    next: str | None  # the link of the next page to fetch (None once done)
    pages: int
    events: int
    done: bool
    started_at: str
    updated_at: NotRequired[str]
    last_published: NotRequired[str | None]


class PollCursor(TypedDict):
    """``poll.json``: the polling query, its next link and the uuids already stored from it."""

    version: int
    query: dict[str, str | None]  # the org and the filter: a change starts a new query
    next: str
    seen: list[str]  # uuids stored from the page at ``next`` (it had events too young to store)
    events: int
    started_at: str
    polled_at: NotRequired[str]


def load_backfill_cursor(path: Path) -> BackfillCursor | None:
    """The saved backfill, or None when there is none yet."""
    return cast("BackfillCursor | None", _load(path))  # save_cursor wrote it from this type


def load_poll_cursor(path: Path) -> PollCursor | None:
    """The saved polling cursor, or None when there is none yet."""
    return cast("PollCursor | None", _load(path))  # save_cursor wrote it from this type


def _load(path: Path) -> dict[str, Any] | None:
    """The saved state as a JSON object, or None when there is none yet."""
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


def save_cursor(path: Path, state: BackfillCursor | PollCursor) -> None:
    """Replace ``path`` with ``state`` atomically and durably."""
    write_atomic(path, orjson.dumps(state, option=orjson.OPT_INDENT_2))


def describe_backfill(state: BackfillCursor | None) -> str:
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


def describe_poll(state: PollCursor | None) -> str:
    """One line about the saved polling cursor."""
    if not state:
        return "not started"
    return f"last poll {state.get('polled_at', '-')}, {state.get('events', 0)} events stored"
