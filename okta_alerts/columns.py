"""The ``events`` columns and the SQL that extracts them from raw LogEvents.

One ``json_transform`` parses each raw event once into a struct (tolerant: a value of the wrong
type becomes NULL rather than failing the batch); the SELECT list below maps that struct onto the
contract columns of DESIGN.md §4. The raw JSON is kept in ``raw``.
"""

from __future__ import annotations

import orjson

from okta_alerts.eventtypes import assignment_error_predicate

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
        "geographicalContext": {
            "city": _TEXT,
            "state": _TEXT,
            "country": _TEXT,
            "geolocation": {"lat": "DOUBLE", "lon": "DOUBLE"},
        },
    },
    "securityContext": {"asNumber": "BIGINT", "asOrg": _TEXT, "isp": _TEXT, "isProxy": "BOOLEAN"},
    "transaction": {"id": _TEXT, "type": _TEXT},
    "debugContext": {"debugData": {"requestId": _TEXT}},
    "target": [_PARTY],
}

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
        "coalesce(e.client.ipAddress, raw->>'$.request.ipChain[0].ip', "
        "raw->>'$.client.ipChain[0].ip')",
    ),
    ("client_user_agent", "VARCHAR", "e.client.userAgent.rawUserAgent"),
    ("client_os", "VARCHAR", "e.client.userAgent.os"),
    ("client_browser", "VARCHAR", "e.client.userAgent.browser"),
    ("client_device", "VARCHAR", "e.client.device"),
    ("client_zone", "VARCHAR", "nullif(e.client.zone, 'null')"),
    ("geo_city", "VARCHAR", "e.client.geographicalContext.city"),
    ("geo_state", "VARCHAR", "e.client.geographicalContext.state"),
    ("geo_country", "VARCHAR", "e.client.geographicalContext.country"),
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
    ("targets", "JSON", "CASE WHEN json_type(raw, '$.target') = 'ARRAY' THEN raw->'$.target' END"),
    ("delivery_id", "VARCHAR", "delivery_id"),
    ("raw", "JSON", "raw"),
)

# Stored beside the contract columns, read by the assignment_errors view only: the app and the
# app's message from debugData, extracted once at compaction rather than per query.
HINTS: tuple[tuple[str, str, str], ...] = (
    ("_app_hint", "VARCHAR", "raw->>'$.debugContext.debugData.appname'"),
    (
        "_reason_hint",
        "VARCHAR",
        "coalesce(raw->>'$.debugContext.debugData.errorMessage', "
        "raw->>'$.debugContext.debugData.reason')",
    ),
    # The assignment-error rule of OKTA.md §4, decided once: the view filters on one small
    # dictionary-encoded column instead of a long predicate per row.
    (
        "_assignment_error",
        "BOOLEAN",
        assignment_error_predicate(column="e.eventType", result="e.outcome.result"),
    ),
)

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in COLUMNS)
STORED_NAMES: tuple[str, ...] = COLUMN_NAMES + tuple(name for name, _, _ in HINTS)


def extract_sql(source: str, keep: tuple[str, ...] = ()) -> str:
    """SELECT the contract columns (and ``keep``) from ``source``, a relation with at least
    ``delivery_id``, ``received_at`` and ``raw`` (one LogEvent's JSON)."""
    struct = orjson.dumps(EVENT_STRUCT).decode().replace("'", "''")
    select = ",\n  ".join(
        [f"CAST({expr} AS {kind}) AS {name}" for name, kind, expr in COLUMNS + HINTS] + list(keep)
    )
    return f"""
WITH parsed AS (
  SELECT *, json_transform(raw, '{struct}') AS e FROM {source}
), picked AS (
  SELECT *,
    list_filter(e.target, x -> x.type IN ('User', 'AppUser'))[1] AS _user_any,
    list_filter(e.target, x -> x.type = 'User')[1] AS _user_only,
    list_filter(e.target, x -> x.type = 'AppInstance')[1] AS _app
  FROM parsed
), chosen AS (SELECT *, coalesce(_user_only, _user_any) AS _user FROM picked)
SELECT
  {select}
FROM chosen
""".replace("x -> ", "lambda x: ")


def empty_table_sql() -> str:
    """CREATE-compatible column list of the ``events`` relation."""
    return ", ".join(f"{name} {kind}" for name, kind, _ in COLUMNS)
