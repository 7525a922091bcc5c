"""Every notebook query as a tested function: a connection and a window in, a DataFrame or a
small result object out.

Notebooks use this package as ``analysis.<query>(con, window)``: lockout queries live in
:mod:`~okta_alerts.analysis.lockouts`, assignment-error queries in
:mod:`~okta_alerts.analysis.assignments`, store-wide ones in :mod:`~okta_alerts.analysis.overview`;
all are re-exported here. Charts (:mod:`~okta_alerts.analysis.charts`, matplotlib) are imported
on their own, so ``import okta_alerts.analysis`` stays light.
"""

from __future__ import annotations

from okta_alerts.analysis.assignments import (
    AssignmentSummary,
    app_error_spikes,
    assignment_errors_by_day,
    assignment_errors_by_hour,
    assignment_errors_over_time,
    assignment_summary,
    errors_by_app,
    errors_by_reason,
    errors_by_user,
    new_error_reasons,
)
from okta_alerts.analysis.lockouts import (
    LockoutSummary,
    lockout_episodes,
    lockout_summary,
    lockouts_by_day,
    lockouts_by_hour,
    lockouts_by_source,
    lockouts_over_time,
    networks_over_time,
    repeat_lockouts,
    spray_candidates,
    top_locked_users,
    unlock_delays,
)
from okta_alerts.analysis.overview import (
    event_summary,
    events_by_type,
    events_over_time,
    view_columns,
)
from okta_alerts.analysis.windows import Window, make_window

__all__ = [
    "WINDOW_QUERIES",
    "AssignmentSummary",
    "LockoutSummary",
    "Window",
    "app_error_spikes",
    "assignment_errors_by_day",
    "assignment_errors_by_hour",
    "assignment_errors_over_time",
    "assignment_summary",
    "errors_by_app",
    "errors_by_reason",
    "errors_by_user",
    "event_summary",
    "events_by_type",
    "events_over_time",
    "lockout_episodes",
    "lockout_summary",
    "lockouts_by_day",
    "lockouts_by_hour",
    "lockouts_by_source",
    "lockouts_over_time",
    "make_window",
    "networks_over_time",
    "new_error_reasons",
    "repeat_lockouts",
    "spray_candidates",
    "top_locked_users",
    "unlock_delays",
    "view_columns",
]

# Every query that takes (connection, window), for benchmarks and docs: functions named after
# their result, each returning a DataFrame or a summary object.
WINDOW_QUERIES: tuple[str, ...] = (
    "lockouts_over_time",
    "lockouts_by_hour",
    "lockouts_by_day",
    "top_locked_users",
    "lockouts_by_source",
    "networks_over_time",
    "spray_candidates",
    "repeat_lockouts",
    "lockout_episodes",
    "unlock_delays",
    "lockout_summary",
    "assignment_errors_over_time",
    "assignment_errors_by_hour",
    "assignment_errors_by_day",
    "errors_by_app",
    "errors_by_reason",
    "errors_by_user",
    "new_error_reasons",
    "app_error_spikes",
    "assignment_summary",
    "events_over_time",
    "events_by_type",
    "event_summary",
)
