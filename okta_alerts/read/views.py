"""The views of ``connect()``: their SQL, over one list of Parquet parts.

The views never name files: ``okta_alerts_parts()`` is bound by :mod:`okta_alerts.read.connect`
to the manifest as it is when each query is bound. One ``read_parquet`` over every part (after
a zero-row file of the current schema, so that every stored column binds; by name where a part
of an earlier release lacks one, which then reads as NULL), and nothing else: DuckDB then
answers ``count(*)`` from the files' metadata, prunes row groups by ``published``, and scans
only the columns a query names. Each uuid is stored once, so
there is nothing to remove at read time. Column names are the public contract (README, Views).
"""

from __future__ import annotations

from okta_alerts.okta.columns import COLUMN_NAMES, STORED_NAMES
from okta_alerts.okta.eventtypes import HOOK_ELIGIBLE, LOCKOUT_TYPES, UNLOCK_TYPES
from okta_alerts.okta.reasons import reason_key_sql, reason_sql
from okta_alerts.sql import in_list, literal

VIEW_NAMES = ("events", "lockouts", "unlocks", "assignment_errors", "hook_gaps")
SYSTEMLOG = "systemlog:"  # delivery_id prefix of every event fetched from the System Log API

# user_login: the User/AppUser target, else the actor unless that is Okta itself (an app-level
# error has no user). reason_key: the reason without names, logins, ids and numbers
# (okta_alerts.okta.reasons), stored when the event was sealed; computed here only for rows a part
# of an earlier release holds (CASE, not coalesce: DuckDB's coalesce runs the regular expressions
# on every row). app_key: Okta's key of the app (e.g. `salesforce`) where debugData names it.
_ASSIGNMENT_ERRORS = f"""
CREATE VIEW assignment_errors AS
SELECT
  * EXCLUDE (_app_hint, _reason_key),
  CASE WHEN _reason_key IS NULL THEN {reason_key_sql("reason")} ELSE _reason_key END
    AS reason_key,
  _app_hint AS app_key
FROM (
  SELECT
    * EXCLUDE (_reason_hint, _assignment_error),
    coalesce(target_app_name, _app_hint) AS app_name,
    target_app_id AS app_id,
    coalesce(
      target_user_login,
      CASE WHEN actor_type = 'SystemPrincipal' OR actor_alternate_id = 'system@okta.com'
           THEN NULL ELSE actor_alternate_id END
    ) AS user_login,
    {reason_sql("outcome_reason", "display_message", "_reason_hint")} AS reason
  FROM _stored_events
  WHERE _assignment_error
)
"""

# Hook-eligible events whose first stored copy came from the System Log API: the hook missed
# them (the poller stays behind real time, so the hook had its chance first). Events published
# before the hook's first delivery are history, not gaps.
_HOOK_GAPS = f"""
CREATE VIEW hook_gaps AS
SELECT *, date_trunc('hour', published) AS hour
FROM events
WHERE starts_with(delivery_id, {literal(SYSTEMLOG)})
  AND event_type IN {in_list(HOOK_ELIGIBLE)}
  AND published >= (
    SELECT min(published) FROM events
    WHERE delivery_id IS NOT NULL AND NOT starts_with(delivery_id, {literal(SYSTEMLOG)})
  )
"""


def _of_types(types: tuple[str, ...]) -> str:
    return f"SELECT * FROM events WHERE event_type IN {in_list(types)}"


def view_statements(union_by_name: bool = True) -> list[str]:
    """The CREATE VIEW statements, in dependency order. ``union_by_name``: some part may lack a
    stored column (written by an earlier release); without it, every part must have each one
    the first file listed has (:mod:`okta_alerts.store.layout`)."""
    columns = ", ".join(STORED_NAMES)
    public = ", ".join(COLUMN_NAMES)
    by_name = ", union_by_name = true" if union_by_name else ""
    return [
        f"CREATE VIEW _stored_events AS SELECT {columns} "
        f"FROM read_parquet(okta_alerts_parts(){by_name})",
        f"CREATE VIEW events AS SELECT {public} FROM _stored_events",
        f"CREATE VIEW lockouts AS {_of_types(LOCKOUT_TYPES)}",
        f"CREATE VIEW unlocks AS {_of_types(UNLOCK_TYPES)}",
        _ASSIGNMENT_ERRORS,
        _HOOK_GAPS,
    ]
