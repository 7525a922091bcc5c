"""The ``events`` columns and the SQL that extracts them from raw LogEvents.

One ``json_transform`` parses each raw event once into a struct (tolerant: a value of the wrong
type becomes NULL rather than failing the batch) that holds every field a column needs; the
SELECT list below maps that struct onto the contract columns (README, Views). Only the small
``target`` array is parsed a second time, to find its entries by type. The raw JSON is kept in
``raw``. Parsing each event once matters: extraction is most of what compaction costs.

Where Okta means "no value" it sometimes writes a string: ``"null"`` (``client.zone``, and
``client.ipAddress`` in published samples), ``"None"``, ``"unknown"`` or ``""`` (docs/okta.md §3).
The IP, zone and place columns read those as NULL, so ``client_ip`` falls back to
``request.ipChain`` (then ``client.ipChain``, where Okta's own sample puts it).
"""

from __future__ import annotations

import orjson

from okta_alerts.okta.eventtypes import assignment_error_predicate
from okta_alerts.okta.reasons import reason_key_sql, reason_sql

_TEXT = "VARCHAR"
_PARTY = {"id": _TEXT, "type": _TEXT, "alternateId": _TEXT, "displayName": _TEXT}

EVENT_STRUCT = {
    "uuid": _TEXT,
    "published": _TEXT,
    "eventType": _TEXT,
    "severity": _TEXT,
    "displayMessage": _TEXT,
    "outcome": {"result": _TEXT, "reason": _TEXT},
    "actor": _PARTY,
    "client": {
        "userAgent": {"rawUserAgent": _TEXT, "os": _TEXT, "browser": _TEXT},
        "zone": _TEXT,
        "device": _TEXT,
        "ipAddress": _TEXT,
        "ipChain": [{"ip": _TEXT}],  # where Okta's own sample puts it
        "geographicalContext": {
            "city": _TEXT,
            "state": _TEXT,
            "country": _TEXT,
            "geolocation": {"lat": "DOUBLE", "lon": "DOUBLE"},
        },
    },
    "securityContext": {"asNumber": "BIGINT", "asOrg": _TEXT, "isp": _TEXT, "isProxy": "BOOLEAN"},
    "transaction": {"id": _TEXT, "type": _TEXT},
    "debugContext": {
        "debugData": {
            "requestId": _TEXT,
            "appname": _TEXT,
            "errorMessage": _TEXT,
            "reason": _TEXT,
        }
    },
    "request": {"ipChain": [{"ip": _TEXT}]},
    "target": "JSON",  # kept as JSON for the targets column; parsed again below (it is small)
}
TARGETS = [_PARTY]

NO_VALUE = ("", "null", "none", "unknown")  # compared lower-cased and trimmed


def present(expr: str) -> str:
    """``expr`` (a VARCHAR), or NULL when it is one of the strings Okta writes for no value."""
    words = ", ".join(f"'{word}'" for word in NO_VALUE)
    return f"CASE WHEN lower(trim({expr})) IN ({words}) THEN NULL ELSE {expr} END"


# (column, SQL type, expression over `e` (the struct), `raw`, `received_at`, `delivery_id`)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("uuid", "VARCHAR", "e.uuid"),
    ("published", "TIMESTAMPTZ", "coalesce(try_cast(e.published AS TIMESTAMPTZ), received_at)"),
    ("received_at", "TIMESTAMPTZ", "received_at"),
    ("event_type", "VARCHAR", "e.eventType"),
    ("severity", "VARCHAR", "e.severity"),
    ("display_message", "VARCHAR", "e.displayMessage"),
    ("outcome_result", "VARCHAR", "e.outcome.result"),
    ("outcome_reason", "VARCHAR", "e.outcome.reason"),
    ("actor_id", "VARCHAR", "e.actor.id"),
    ("actor_type", "VARCHAR", "e.actor.type"),
    ("actor_alternate_id", "VARCHAR", "e.actor.alternateId"),
    ("actor_display_name", "VARCHAR", "e.actor.displayName"),
    (
        "client_ip",
        "VARCHAR",
        f"coalesce({present('e.client.ipAddress')}, {present('e.request.ipChain[1].ip')}, "
        f"{present('e.client.ipChain[1].ip')})",
    ),
    ("client_user_agent", "VARCHAR", "e.client.userAgent.rawUserAgent"),
    ("client_os", "VARCHAR", "e.client.userAgent.os"),
    ("client_browser", "VARCHAR", "e.client.userAgent.browser"),
    ("client_device", "VARCHAR", "e.client.device"),
    ("client_zone", "VARCHAR", present("e.client.zone")),
    ("geo_city", "VARCHAR", present("e.client.geographicalContext.city")),
    ("geo_state", "VARCHAR", present("e.client.geographicalContext.state")),
    ("geo_country", "VARCHAR", present("e.client.geographicalContext.country")),
    ("geo_lat", "DOUBLE", "e.client.geographicalContext.geolocation.lat"),
    ("geo_lon", "DOUBLE", "e.client.geographicalContext.geolocation.lon"),
    ("as_number", "BIGINT", "e.securityContext.asNumber"),
    ("as_org", "VARCHAR", "e.securityContext.asOrg"),
    ("isp", "VARCHAR", "e.securityContext.isp"),
    ("is_proxy", "BOOLEAN", "e.securityContext.isProxy"),
    ("transaction_id", "VARCHAR", "e.transaction.id"),
    ("transaction_type", "VARCHAR", "e.transaction.type"),
    ("request_id", "VARCHAR", "e.debugContext.debugData.requestId"),
    ("target_user_id", "VARCHAR", "_user.id"),
    ("target_user_login", "VARCHAR", "_user.alternateId"),
    ("target_app_id", "VARCHAR", "_app.id"),
    ("target_app_name", "VARCHAR", "coalesce(_app.displayName, _app.alternateId)"),
    ("targets", "JSON", "CASE WHEN json_type(e.target) = 'ARRAY' THEN e.target END"),
    ("delivery_id", "VARCHAR", "delivery_id"),
    ("raw", "JSON", "raw"),
)

_REASON_HINT = "coalesce(e.debugContext.debugData.errorMessage, e.debugContext.debugData.reason)"
_ASSIGNMENT_ERROR = assignment_error_predicate(column="e.eventType", result="e.outcome.result")
_REASON = reason_sql("e.outcome.reason", "e.displayMessage", _REASON_HINT)

# Stored beside the contract columns, read by the assignment_errors view only: the app and the
# app's message from debugData, extracted once when a journal is sealed rather than per query.
HINTS: tuple[tuple[str, str, str], ...] = (
    ("_app_hint", "VARCHAR", "e.debugContext.debugData.appname"),
    ("_reason_hint", "VARCHAR", _REASON_HINT),
    # The assignment-error rule of docs/okta.md §4, decided once: the view filters on one small
    # dictionary-encoded column instead of a long predicate per row.
    ("_assignment_error", "BOOLEAN", _ASSIGNMENT_ERROR),
    # The reason key of an assignment error (NULL for other events): its regular expressions run
    # once per error here, not on every query. Parts of earlier releases lack it (the view then
    # computes it from the reason).
    ("_reason_key", "VARCHAR", f"CASE WHEN {_ASSIGNMENT_ERROR} THEN {reason_key_sql(_REASON)} END"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in COLUMNS)
STORED_NAMES: tuple[str, ...] = COLUMN_NAMES + tuple(name for name, _, _ in HINTS)


def extract_sql(source: str, keep: tuple[str, ...] = ()) -> str:
    """SELECT the contract columns (and ``keep``) from ``source``, a relation with at least
    ``delivery_id``, ``received_at`` and ``raw`` (one LogEvent's JSON)."""
    struct = orjson.dumps(EVENT_STRUCT).decode().replace("'", "''")
    targets = orjson.dumps(TARGETS).decode().replace("'", "''")
    select = ",\n  ".join(
        [f"CAST({expr} AS {kind}) AS {name}" for name, kind, expr in COLUMNS + HINTS] + list(keep)
    )
    return f"""
WITH parsed AS (
  SELECT delivery_id, received_at, raw, {", ".join(keep) + "," if keep else ""}
    json_transform(raw, '{struct}') AS e FROM {source}
), picked AS (
  SELECT *,
    list_filter(_t, x -> x.type IN ('User', 'AppUser'))[1] AS _user_any,
    list_filter(_t, x -> x.type = 'User')[1] AS _user_only,
    list_filter(_t, x -> x.type = 'AppInstance')[1] AS _app
  FROM (SELECT *, json_transform(e.target, '{targets}') AS _t FROM parsed)
), chosen AS (SELECT *, coalesce(_user_only, _user_any) AS _user FROM picked)
SELECT
  {select}
FROM chosen
""".replace("x -> ", "lambda x: ")


def empty_table_sql() -> str:
    """CREATE-compatible column list of the ``events`` relation."""
    return ", ".join(f"{name} {kind}" for name, kind, _ in COLUMNS)
