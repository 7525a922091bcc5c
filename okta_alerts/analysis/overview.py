"""Store-wide overview queries for the explore notebook: the views, event volume by type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from okta_alerts.analysis.baseline import (
    VIEWS,
    Figures,
    counts_over_time,
    frame,
    one_row,
    window_params,
)
from okta_alerts.analysis.prose import Prose, plural
from okta_alerts.analysis.windows import Window


def view_columns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The columns of the contract's views: ``view, column, type``. All of ``events``, then the
    columns the other views add (``lockouts`` and ``unlocks`` add none)."""
    sql = """
    WITH cols AS (
      SELECT table_name, column_name, data_type, ordinal_position
      FROM information_schema.columns WHERE table_name IN (SELECT unnest($views))
    )
    SELECT table_name AS view, column_name AS "column", data_type AS type FROM cols
    WHERE table_name = 'events'
       OR column_name NOT IN (SELECT column_name FROM cols WHERE table_name = 'events')
    ORDER BY list_position($views, table_name), ordinal_position
    """
    return frame(con, sql, {"views": list(VIEWS)})


def events_by_type(con: duckdb.DuckDBPyConnection, window: Window, limit: int = 25) -> pd.DataFrame:
    """Event types in the window: ``event_type, events, failures, percent``; most first."""
    sql = """
    SELECT event_type, count(*) AS events,
           count(*) FILTER (WHERE outcome_result = 'FAILURE') AS failures,
           round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
    FROM events WHERE published >= $start AND published < $end
    GROUP BY event_type
    ORDER BY events DESC, event_type
    LIMIT $limit
    """
    return frame(con, sql, window_params(window, limit=limit))


def events_over_time(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """All events per bucket of the window with the baseline band (see ``counts_over_time``)."""
    return counts_over_time(con, "events", window)


@dataclass(frozen=True, slots=True)
class EventSummary(Prose):
    """How much is in the window."""

    window: Window
    events: int
    event_types: int
    actors: int
    first: datetime | None
    last: datetime | None

    def figures(self) -> Figures:
        return {
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "events": self.events,
            "event_types": self.event_types,
            "actors": self.actors,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }

    def describe(self) -> str:
        if not self.events:
            return f"No events in this window ({self.window})."
        return (
            f"{plural(self.events, 'event')} of {plural(self.event_types, 'type')} from "
            f"{plural(self.actors, 'actor')} "
            f"in {self.window}; first {self.first:%Y-%m-%d %H:%M:%S}, "
            f"last {self.last:%Y-%m-%d %H:%M:%S} UTC."
        )


def event_summary(con: duckdb.DuckDBPyConnection, window: Window) -> EventSummary:
    """Events, event types and actors in the window, and its first and last event time."""
    sql = """
    SELECT count(*), count(DISTINCT event_type), count(DISTINCT actor_id),
           min(published), max(published)
    FROM events WHERE published >= $start AND published < $end
    """
    events, types, actors, first, last = one_row(con, sql, window_params(window))
    return EventSummary(window, int(events), int(types), int(actors), first, last)
