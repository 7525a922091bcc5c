"""The SQL of a rule: its aggregate query, the check that it runs, and what it finds.

Each rule is one query over its view that filters on ``published`` first; values are bound
parameters, and only ``where`` is SQL text from the (trusted) rules file. Column names come
from the rules file too and are checked as names when it is loaded; :func:`check_queries` also
checks them against the view and runs every query once with ``LIMIT 0``. :func:`query_rule`
returns the keys a rule fires for at one time (a spray rule's are :mod:`okta_alerts.alerts.spray`'s,
an absence rule's window may follow the baseline: :func:`absence_window`);
:func:`lifetime_totals` counts what an open alert has seen since it opened. What that means for
alerts is :mod:`okta_alerts.alerts.evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

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
from okta_alerts.alerts.kinds import (
    AbsenceRule,
    CountingRule,
    DistinctRule,
    Rule,
    SpikeRule,
    SprayRule,
    ThresholdRule,
    baseline_of,
    group_by_of,
)
from okta_alerts.alerts.spray import familiar_query, query_spray, spray_query
from okta_alerts.analysis.networks import KnownNetworks
from okta_alerts.errors import RuleError
from okta_alerts.times import format_minute, format_span

# An absence rule with a baseline fires after a silence that the quietest active hour of the
# baseline had a chance of at most 1 in 1,000 to show (Poisson: e^-(rate x window) <= 0.001).
SILENCE_EVIDENCE = math.log(1000)
LAST_EVENT_LOOKBACK = timedelta(days=7)
HOUR_US = 3_600_000_000  # how far back the digest looks for the last event


def rule_query(
    rule: Rule, now: datetime, networks: KnownNetworks | None = None
) -> tuple[str, Params]:
    """The rule's main aggregate query and its bound parameters at evaluation time ``now``."""
    if isinstance(rule, SprayRule):
        return spray_query(rule, now, networks or KnownNetworks())
    start = now - rule.window
    baseline = baseline_of(rule)
    params: Params = {"lo": start - baseline if baseline else start, "now": now}
    scope = f"FROM {rule.view} WHERE published >= $lo AND published < $now{_where(rule)}"
    if not isinstance(rule, CountingRule):
        return f"SELECT count(*) AS n {scope}", params
    current = "FILTER (WHERE published >= $start)" if baseline else ""
    if baseline:
        params["start"] = start
    value = f"count(DISTINCT {quote(rule.field)})" if isinstance(rule, DistinctRule) else "count(*)"
    base = "count(*) FILTER (WHERE published < $start)" if baseline else "NULL"
    select = [
        *key_columns(rule.group_by),
        f"count(*) {current} AS n",
        f"{value} {current} AS value",
        f"{base} AS base",
        tops_column(rule.top, current),
        *ref_columns(rule.group_by),
    ]
    group = " GROUP BY ALL" if rule.group_by else ""
    order = ", ".join(["value DESC", *(f"k{i}" for i in range(len(rule.group_by)))])
    having = _having(rule, params)
    sql = f"SELECT {', '.join(select)} {scope}{group} HAVING {having} ORDER BY {order}"
    return sql, params


def _where(rule: Rule) -> str:
    return f" AND ({rule.where})" if rule.where else ""


def _having(rule: CountingRule, params: Params) -> str:
    """When a counting rule fires, adding its parameters to ``params``."""
    if isinstance(rule, SpikeRule):
        params |= {"min": rule.min_count, "factor": rule.factor}
        params |= {"window_s": rule.window.total_seconds(), "base_s": rule.baseline.total_seconds()}
        having = "n >= $min AND n * $base_s >= $factor * base * $window_s"
        return having + (" AND base = 0" if rule.new_only else "")
    assert isinstance(rule, ThresholdRule | DistinctRule)
    params["threshold"] = rule.threshold
    return "value >= $threshold"


def _columns_used(rule: Rule) -> list[tuple[str, str]]:
    """(field, column) for every column the rule names."""
    if not isinstance(rule, CountingRule):
        return []
    used = [("group_by", column) for column in rule.group_by]
    if isinstance(rule, DistinctRule | SprayRule):
        used.append(("field", rule.field))
    return used + [("top", column) for column in rule.top]


def _statements(rule: Rule, now: datetime, networks: KnownNetworks) -> list[tuple[str, Params]]:
    """Every query evaluating ``rule`` may run."""
    statements = [rule_query(rule, now, networks)]
    if isinstance(rule, SprayRule):
        statements.append(familiar_query(rule, now, []))
    return statements


def check_queries(
    con: duckdb.DuckDBPyConnection, rules: Iterable[Rule], networks: KnownNetworks | None = None
) -> None:
    """Run every rule's queries once with ``LIMIT 0``; a bad column or ``where`` names the rule."""
    now = datetime.now(UTC)
    described: dict[str, set[str]] = {}
    for rule in rules:
        if rule.view not in described:
            rows = con.execute(f"DESCRIBE SELECT * FROM {rule.view}").fetchall()
            described[rule.view] = {row[0] for row in rows}
        columns = described[rule.view]
        for name, column in _columns_used(rule):
            if column not in columns:
                raise RuleError(
                    f"rule {rule.id!r}: field {name!r}: no column {column!r} in view "
                    f"{rule.view} (columns: {', '.join(sorted(columns))})"
                )
        for sql, params in _statements(rule, now, networks or KnownNetworks()):
            try:
                con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).fetchall()
            except duckdb.Error as exc:
                culprit = "where" if rule.where else "view"
                first = str(exc).splitlines()[0]
                raise RuleError(
                    f"rule {rule.id!r}: field {culprit!r}: the query fails: {first}"
                ) from None


def query_rule(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    now: datetime,
    networks: KnownNetworks | None = None,
) -> list[Hit]:
    """The keys for which ``rule`` fires at ``now`` (an absence rule fires for the key "")."""
    try:
        if isinstance(rule, SprayRule):
            return query_spray(con, rule, now, networks or KnownNetworks())
        if isinstance(rule, AbsenceRule):
            return _absent(con, rule, now)
        assert isinstance(rule, CountingRule)
        rows = rows_of(con, *rule_query(rule, now))
    except duckdb.Error as exc:
        raise RuleError(f"rule {rule.id!r}: the query fails: {str(exc).splitlines()[0]}") from None
    baseline = baseline_of(rule)
    ratio = rule.window / baseline if baseline else 0.0
    hits, width = [], len(rule.group_by)
    for row in rows:
        values, key = key_of([row[f"k{i}"] for i in range(width)])
        labels = tuple(zip(rule.group_by, values, strict=True))
        normal = None if row["base"] is None else row["base"] * ratio
        refs = refs_of(rule.group_by, row)
        hits.append(Hit(key, labels, row["n"], row["value"], normal, ranked(row["top"]), refs=refs))
    return hits


def _count(con: duckdb.DuckDBPyConnection, rule: Rule, start: datetime, now: datetime) -> int:
    sql = f"SELECT count(*) FROM {rule.view} WHERE published >= $lo AND published < $now"
    row = con.execute(sql + _where(rule), {"lo": start, "now": now}).fetchone()
    return int(row[0]) if row else 0


def _absent(con: duckdb.DuckDBPyConnection, rule: AbsenceRule, now: datetime) -> list[Hit]:
    """The absence rule's hit: none while its shortest window has events (one cheap count);
    else the window its baseline allows, and when the last event arrived."""
    shortest = rule.min_window if rule.baseline else rule.window
    if _count(con, rule, now - shortest, now):
        return []
    window, why = absence_window(con, rule, now)
    if window > shortest and _count(con, rule, now - window, now):
        return []
    notes = [why] if why else []
    sql = f"SELECT max(published) FROM {rule.view} WHERE published >= $lo AND published < $now"
    row = con.execute(sql + _where(rule), {"lo": now - LAST_EVENT_LOOKBACK, "now": now}).fetchone()
    last = row[0] if row else None
    if last is None:
        notes.append(f"no event at all in the {format_span(LAST_EVENT_LOOKBACK)} before")
    else:
        ago = format_span(timedelta(minutes=int((now - last).total_seconds() // 60)))
        notes.append(f"last event {format_minute(last)} UTC ({ago} before)")
    return [Hit("", notes=tuple(notes), window=window)]


def absence_window(
    con: duckdb.DuckDBPyConnection, rule: AbsenceRule, now: datetime
) -> tuple[timedelta, str | None]:
    """The window of ``rule`` at ``now`` and, with a baseline, why: the silence its quietest
    active hour (UTC hours wholly inside active_hours/active_days) makes unlikely."""
    if rule.baseline is None:
        return rule.window, None
    last = (now - rule.window).replace(minute=0, second=0, microsecond=0)  # before any silence
    first = last - rule.baseline
    sql = (
        f"SELECT epoch_us(published) // {HOUR_US} AS h, count(*) FROM {rule.view}"
        f" WHERE published >= $lo AND published < $now{_where(rule)} GROUP BY ALL"
    )
    counts = {int(h): int(n) for h, n in con.execute(sql, {"lo": first, "now": last}).fetchall()}
    hours = [first + timedelta(hours=i) for i in range(int((last - first) / timedelta(hours=1)))]
    active = [h for h in hours if rule.active_at(h) and rule.active_at(h + timedelta(minutes=59))]
    if not active:
        return rule.window, None
    quietest = min(counts.get(int(h.timestamp()) // 3600, 0) for h in active)
    before = f"in the {format_span(rule.baseline)} before"
    if quietest == 0:
        return rule.window, f"an active hour {before} had no events"
    window = timedelta(hours=SILENCE_EVIDENCE / quietest)
    window = min(max(window, rule.min_window), rule.window)
    return window, f"the quietest active hour {before} had {quietest} events"


def lifetime_totals(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    since: Mapping[str, datetime],
    now: datetime,
    networks: KnownNetworks | None = None,
) -> dict[str, int]:
    """For each key of ``since``, what ``rule`` counts from its time to ``now``: distinct values
    of ``field`` for distinct and spray rules, events otherwise (an absence rule counts none)."""
    group_by = group_by_of(rule)
    if not since or isinstance(rule, AbsenceRule):
        return {}
    if group_by:
        parts = [f"coalesce(CAST({quote(c)} AS VARCHAR), '(none)')" for c in group_by]
        key = f"concat_ws(' / ', {', '.join(parts)})"
    else:
        key = "''"
    field = rule.field if isinstance(rule, DistinctRule | SprayRule) else None
    measure = f"count(DISTINCT v.{quote(field)})" if field else "count(*)"
    known = ""
    if isinstance(rule, SprayRule) and rule.known_networks == "exclude":
        known = f" AND NOT ({(networks or KnownNetworks()).sql()})"
    sql = (
        "WITH o AS (SELECT unnest($keys) AS _k, unnest($sinces) AS _since) "
        f"SELECT o._k, {measure} FROM {rule.view} v JOIN o ON {key} = o._k"
        f" AND v.published >= o._since WHERE v.published >= $lo AND v.published < $now"
        f"{_where(rule)}{known} GROUP BY o._k"
    )
    keys = list(since)
    params = {
        "keys": keys,
        "sinces": [since[k] for k in keys],
        "lo": min(since.values()),
        "now": now,
    }
    try:
        return {str(k): int(n) for k, n in con.execute(sql, params).fetchall()}
    except duckdb.Error as exc:
        raise RuleError(f"rule {rule.id!r}: the query fails: {str(exc).splitlines()[0]}") from None
