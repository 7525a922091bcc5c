"""Spray rules: many different accounts failing or locked from one source (an IP, a network).

A spray rule (:class:`~okta_alerts.alerts.kinds.SprayRule`) counts distinct accounts per source
in its window, in one aggregate query that also marks each row as coming from the org's known
networks (:class:`~okta_alerts.analysis.networks.KnownNetworks`) or not. Only when a source
reaches the threshold does a second, small query look up whether that source had successful
sign-ins in the baseline: such a familiar source (an office, a home ISP) needs
``familiar_factor`` times the threshold; a hosting network nobody signs in from needs only the
threshold. A source in the org's known networks is downgraded to ``known_severity`` (or its rows
are not counted at all, with ``known_networks: exclude``); the digest says which.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from okta_alerts.alerts.hits import (
    Hit,
    Params,
    key_columns,
    key_of,
    quote,
    ranked,
    ref_columns,
    refs_of,
    rows_of,
    tops_column,
)
from okta_alerts.alerts.kinds import SprayRule
from okta_alerts.analysis.networks import KnownNetworks
from okta_alerts.times import format_span

# A successful sign-in: what makes a source familiar (docs/okta.md §4).
SIGNED_IN = "event_type = 'user.session.start' AND outcome_result = 'SUCCESS'"


def spray_query(rule: SprayRule, now: datetime, networks: KnownNetworks) -> tuple[str, Params]:
    """Per source in the window: rows, distinct ``field`` values (counted), rows from known
    networks and their zone, distinct IPs, top values and link ids; only sources that could
    fire (at the lower, unfamiliar threshold)."""
    exclude = rule.known_networks == "exclude"
    counted = f"count(DISTINCT {quote(rule.field)})"
    select = [
        *key_columns(rule.group_by),
        "count(*) AS n",
        f"{counted} FILTER (WHERE NOT _known) AS value" if exclude else f"{counted} AS value",
        "count(*) FILTER (WHERE _known) AS known_n",
        "mode(client_zone) FILTER (WHERE _known) AS zone",
        "count(DISTINCT client_ip) AS ips",
        tops_column(rule.top, "FILTER (WHERE NOT _known)" if exclude else ""),
        *ref_columns(rule.group_by),
    ]
    where = f" AND ({rule.where})" if rule.where else ""
    rows = (
        f"SELECT *, {networks.sql()} AS _known FROM {rule.view}"
        f" WHERE published >= $start AND published < $now{where}"
    )
    order = ", ".join(["value DESC", *(f"k{i}" for i in range(len(rule.group_by)))])
    sql = (
        f"SELECT {', '.join(select)} FROM ({rows}) GROUP BY ALL"
        f" HAVING value >= $least ORDER BY {order}"
    )
    least = rule.threshold * min(1.0, rule.familiar_factor)
    return sql, {"start": now - rule.window, "now": now, "least": least}


def familiar_query(rule: SprayRule, now: datetime, firsts: list[str]) -> tuple[str, Params]:
    """Successful sign-ins per source in the baseline, for sources whose first key column is
    one of ``firsts``."""
    first = quote(rule.group_by[0])
    sql = (
        f"SELECT {', '.join(key_columns(rule.group_by))}, count(*) AS n FROM events"
        f" WHERE published >= $lo AND published < $start AND {SIGNED_IN}"
        f" AND CAST({first} AS VARCHAR) IN (SELECT unnest($firsts)) GROUP BY ALL"
    )
    start = now - rule.window
    return sql, {"lo": start - rule.baseline, "start": start, "firsts": firsts}


def query_spray(
    con: duckdb.DuckDBPyConnection, rule: SprayRule, now: datetime, networks: KnownNetworks
) -> list[Hit]:
    """The sources ``rule`` fires for at ``now``."""
    rows = rows_of(con, *spray_query(rule, now, networks))
    if not rows:
        return []
    width = len(rule.group_by)
    firsts = sorted({str(row["k0"]) for row in rows if row["k0"] is not None})
    signed_in: dict[str, int] = {}
    if firsts:
        for row in rows_of(con, *familiar_query(rule, now, firsts)):
            signed_in[key_of([row[f"k{i}"] for i in range(width)])[1]] = int(row["n"])
    hits = []
    for row in rows:
        values, key = key_of([row[f"k{i}"] for i in range(width)])
        hit = _judge(rule, row, values, key, signed_in.get(key, 0))
        if hit is not None:
            hits.append(hit)
    return hits


def _judge(
    rule: SprayRule, row: dict[str, Any], values: tuple[str, ...], key: str, signed_in: int
) -> Hit | None:
    """The hit of one source, if it reaches the threshold its familiarity asks for."""
    needed = rule.threshold * (rule.familiar_factor if signed_in else 1.0)
    if row["value"] < needed:
        return None
    before = f"in the {format_span(rule.baseline)} before"
    notes = [
        f"{signed_in} successful sign-ins from it {before} (familiar: needs {needed:g})"
        if signed_in
        else f"no successful sign-in from it {before}"
    ]
    if "client_ip" not in rule.group_by and row["ips"]:
        notes.append(f"from {row['ips']} IP address{'es' if row['ips'] != 1 else ''}")
    severity = None
    known, total = int(row["known_n"]), int(row["n"])
    if known:
        where = f"zone {row['zone']}" if row["zone"] else "OKTA_ALERTS_KNOWN_NETWORKS"
        share = "all" if known == total else f"{known} of {total}"
        if rule.known_networks == "exclude":
            notes.append(f"{share} events from the org's known networks ({where}) not counted")
        elif known * 2 >= total:
            severity = rule.known_severity
            notes.append(f"known network ({where}; {share} events): severity {severity}")
    return Hit(
        key,
        tuple(zip(rule.group_by, values, strict=True)),
        total,
        int(row["value"]),
        None,
        ranked(row["top"]),
        severity,
        tuple(notes),
        refs_of(rule.group_by, row),
    )
