"""Alert rules: the YAML format, its validation, and pure evaluation against the event views.

A rule counts events of one view (DESIGN.md §4) in the window ``[now - window, now)``, optionally
per group key, and fires by its ``kind`` (the ``KINDS`` table). :func:`evaluate_rules` turns
(connection, rules, now, memory of earlier alerts) into firing, resolved and suppressed alerts;
it reads nothing else and writes nothing. Each rule is one aggregate query that filters on
``published`` first; values are bound parameters, only ``where`` is SQL text from the trusted
rules file (and is checked by running the query once with ``LIMIT 0``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml

from okta_alerts.errors import RuleError
from okta_alerts.reader import VIEW_NAMES

# kind -> what makes it fire. The README and the docs test read this table.
KINDS: dict[str, str] = {
    "threshold": "events in the window >= `threshold` (per group key)",
    "distinct": "distinct values of `field` in the window >= `threshold` (per group key)",
    "spike": "events in the window >= `factor` x the baseline mean per window, and >= "
    "`min_count`; with `new_only`, only keys with no events in the baseline",
    "absence": "no events at all in the window: the hook, Okta or the receiver is broken",
}
SEVERITIES = ("info", "warning", "high", "critical")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NO_KEY = "(none)"
UTC_ZONE = ZoneInfo("UTC")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def parse_duration(value: Any) -> timedelta:
    """``"15m"``, ``"1h"``, ``"14d"``, ``"1h30m"`` (units s m h d w) as a positive timedelta."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if not text or _DURATION.sub("", text) or not _DURATION.search(text):
        raise ValueError(f"{value!r} is not a duration like 15m, 1h or 14d")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(text))
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds, parts = int(delta.total_seconds()), []
    for unit in ("w", "d", "h", "m", "s"):
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def _columns(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
        raise ValueError("must be a column name or a list of column names")
    for column in items:
        if not _COLUMN.match(column):
            raise ValueError(f"{column!r} is not a column name")
    return tuple(items)


def _column(value: Any) -> str:
    (column,) = _columns(value) if isinstance(value, str) else (None,)
    if column is None:
        raise ValueError("must be one column name")
    return column


def _one_of(choices: Iterable[str]) -> Callable[[Any], str]:
    options = tuple(choices)

    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of: {', '.join(options)}")
        return str(value)

    return parse


def _is(test: Callable[[Any], Any], need: str, convert: Callable[[Any], Any] = lambda v: v):
    def parse(value: Any) -> Any:
        if not test(value):
            raise ValueError(f"{value!r} {need}")
        return convert(value)

    return parse


_count = _is(lambda v: type(v) is int and v >= 1, "must be a whole number >= 1")
_positive = _is(lambda v: type(v) in (int, float) and v > 0, "must be a number > 0", float)
_flag = _is(lambda v: isinstance(v, bool), "must be true or false")
_text = _is(lambda v: isinstance(v, str) and v.strip(), "must be non-empty text", str.strip)
_rule_id = _is(
    lambda v: isinstance(v, str) and _ID.match(v), "must be lowercase letters, digits, . _ or -"
)


def _tags(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) and t for t in items):
        raise ValueError("must be a tag or a list of tags")
    return tuple(items)


def _hours(value: Any) -> tuple[time, time]:
    match = _HOURS.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a range like 08:00-18:00")
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"{value!r} is not a valid range of clock times")
    return time(h1, m1), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)


def _days(value: Any) -> tuple[int, ...]:
    if isinstance(value, str) and "-" in value:
        first, _, last = value.lower().partition("-")
        if first in DAYS and last in DAYS:
            a, b = DAYS.index(first), DAYS.index(last)
            return tuple(range(a, b + 1)) if a <= b else (*range(a, 7), *range(b + 1))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(str(d).lower() in DAYS for d in items):
        raise ValueError(f"{value!r} is not days like mon-fri or [sat, sun]")
    return tuple(DAYS.index(str(d).lower()) for d in items)


def _zone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone like UTC or Europe/Berlin") from None


ALL = tuple(KINDS)
_COUNTING = ("threshold", "distinct", "spike")
_BASED = ("threshold", "spike")


@dataclass(frozen=True)
class RuleField:
    """One key of a rule: how it is parsed, what it means, which kinds take it and need it."""

    name: str
    parse: Callable[[Any], Any]
    doc: str
    kinds: tuple[str, ...] = ALL
    required: tuple[str, ...] = ()


# Every key a rule may have (defaults: :class:`Rule`). The README and the docs test read this.
FIELDS: tuple[RuleField, ...] = (
    RuleField("id", _rule_id, "stable id: state, titles, silences", required=ALL),
    RuleField("title", _text, "headline in the digest (default: the id)"),
    RuleField("view", _one_of(VIEW_NAMES), "the view to count", required=ALL),
    RuleField("where", _text, "extra SQL filter over the view's columns"),
    RuleField("kind", _one_of(KINDS), "threshold | distinct | spike | absence", required=ALL),
    RuleField("window", parse_duration, "count events in [now - window, now)", required=ALL),
    RuleField("group_by", _columns, "one alert per value of these columns", _COUNTING),
    RuleField("threshold", _count, "fire at this count or more", _COUNTING[:2], _COUNTING[:2]),
    RuleField("field", _column, "column whose distinct values count", ("distinct",), ("distinct",)),
    RuleField("baseline", parse_duration, "period before the window: normal", _BASED, ("spike",)),
    RuleField("factor", _positive, "times the baseline mean per window", ("spike",)),
    RuleField("min_count", _count, "and at least this many events", ("spike",)),
    RuleField("new_only", _flag, "only keys with no events in the baseline", ("spike",)),
    RuleField("top", _columns, "columns whose most frequent values the digest lists", _COUNTING),
    RuleField("severity", _one_of(SEVERITIES), "info | warning | high | critical"),
    RuleField("cooldown", parse_duration, "no repeat for the same rule + key within this"),
    RuleField("notify_tags", _tags, "apprise tags to send to (default: every target)"),
    RuleField("resolve", _flag, "send a resolved message when it clears"),
    RuleField("active_hours", _hours, "only evaluate between these times, e.g. 08:00-18:00"),
    RuleField("active_days", _days, "only evaluate on these days, e.g. mon-fri"),
    RuleField("timezone", _zone, "time zone of active_hours and active_days"),
    RuleField("enabled", _flag, "false skips the rule"),
)
_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class Rule:
    """A validated rule. Field meanings: :data:`FIELDS`."""

    id: str
    view: str
    kind: str
    window: timedelta
    title: str = ""
    where: str | None = None
    group_by: tuple[str, ...] = ()
    threshold: int | None = None
    field: str | None = None
    baseline: timedelta | None = None
    factor: float = 3.0
    min_count: int = 1
    new_only: bool = False
    top: tuple[str, ...] = ()
    severity: str = "warning"
    cooldown: timedelta = timedelta(hours=1)
    notify_tags: tuple[str, ...] = ()
    resolve: bool = True
    active_hours: tuple[time, time] | None = None
    active_days: tuple[int, ...] | None = None
    timezone: ZoneInfo = UTC_ZONE
    enabled: bool = True

    def active_at(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        if self.active_days is not None and local.weekday() not in self.active_days:
            return False
        if self.active_hours is None:
            return True
        start, end = self.active_hours
        clock = local.time().replace(tzinfo=None)
        return start <= clock < end if start <= end else (clock >= start or clock < end)


def parse_rule(raw: Any, position: int) -> Rule:
    """Validate one rule mapping; errors name the rule (or its position) and the field."""
    name = f"rule #{position}"
    if not isinstance(raw, dict):
        raise RuleError(f"{name}: must be a mapping of fields, not {type(raw).__name__}")
    if isinstance(raw.get("id"), str):
        name = f"rule {raw['id']!r}"
    values: dict[str, Any] = {}
    kind = raw.get("kind")
    for key in raw:
        if key not in _BY_NAME:
            raise RuleError(f"{name}: unknown field {key!r}; known: {', '.join(_BY_NAME)}")
    for spec in FIELDS:
        if spec.name not in raw or raw[spec.name] is None:
            if spec.required == ALL or kind in spec.required:
                raise RuleError(f"{name}: field {spec.name!r} is required" + _for(spec, kind))
            continue
        if kind in KINDS and kind not in spec.kinds:
            raise RuleError(f"{name}: field {spec.name!r} does not apply to kind {kind!r}")
        try:
            values[spec.name] = spec.parse(raw[spec.name])
        except ValueError as exc:
            raise RuleError(f"{name}: field {spec.name!r}: {exc}") from None
    rule = Rule(**values)
    if rule.baseline is not None and rule.baseline < rule.window:
        raise RuleError(f"{name}: field 'baseline' must be at least the window ({rule.window})")
    top = rule.top or ((rule.field,) if rule.field else ())
    return replace(rule, title=rule.title or rule.id, top=top)


def _for(spec: RuleField, kind: Any) -> str:
    return f" for kind {kind!r}" if kind in spec.required and spec.required != ALL else ""


def load_rules(path: str | Path) -> list[Rule]:
    """Read and validate a rules file: a YAML list of rules (or a mapping with ``rules:``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleError(f"rules file {path} does not exist (set OKTA_ALERTS_RULES)") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"rules file {path} is not valid YAML: {exc}") from None
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise RuleError(f"rules file {path} must be a list of rules")
    try:
        return parse_rules(data)
    except RuleError as exc:
        raise RuleError(f"{path}: {exc}") from None


def parse_rules(data: Iterable[Any]) -> list[Rule]:
    rules, seen = [], set()
    for position, raw in enumerate(data, start=1):
        rule = parse_rule(raw, position)
        if rule.id in seen:
            raise RuleError(f"rule {rule.id!r}: field 'id' is used by two rules")
        seen.add(rule.id)
        rules.append(rule)
    return rules


# -- queries -------------------------------------------------------------------------------


def _q(column: str) -> str:
    return f'"{column}"'


def rule_query(rule: Rule, now: datetime) -> tuple[str, dict[str, Any]]:
    """The rule's one aggregate query and its bound parameters at evaluation time ``now``."""
    start = now - rule.window
    lo = start - rule.baseline if rule.baseline else start
    params: dict[str, Any] = {"lo": lo, "now": now}
    where = f" AND ({rule.where})" if rule.where else ""
    scope = f"FROM {rule.view} WHERE published >= $lo AND published < $now{where}"
    if rule.kind == "absence":
        return f"SELECT count(*) AS n {scope}", params
    current = "FILTER (WHERE published >= $start)" if rule.baseline else ""
    if rule.baseline:
        params["start"] = start
    keys = [f"CAST({_q(c)} AS VARCHAR) AS k{i}" for i, c in enumerate(rule.group_by)]
    value = f"count(DISTINCT {_q(rule.field)})" if rule.field else "count(*)"
    base = "count(*) FILTER (WHERE published < $start)" if rule.baseline else "NULL"
    tops = ", ".join(f"'{c}': histogram({_q(c)}) {current}" for c in rule.top)
    select = [*keys, f"count(*) {current} AS n", f"{value} {current} AS value", f"{base} AS base"]
    select.append(f"{{{tops}}} AS top" if tops else "{} AS top")
    if rule.kind == "spike":
        assert rule.baseline is not None
        params |= {"min": rule.min_count, "factor": rule.factor}
        params |= {"window_s": rule.window.total_seconds(), "base_s": rule.baseline.total_seconds()}
        having = "n >= $min AND n * $base_s >= $factor * base * $window_s"
        having += " AND base = 0" if rule.new_only else ""
    else:
        params["threshold"] = rule.threshold
        having = "value >= $threshold"
    group = " GROUP BY ALL" if keys else ""
    order = ", ".join(["value DESC", *(f"k{i}" for i in range(len(keys)))])
    sql = f"SELECT {', '.join(select)} {scope}{group} HAVING {having} ORDER BY {order}"
    return sql, params


def check_queries(con: duckdb.DuckDBPyConnection, rules: Iterable[Rule]) -> None:
    """Run every rule's query once with ``LIMIT 0``; a bad column or ``where`` names the rule."""
    now = datetime.now(UTC)
    described: dict[str, set[str]] = {}
    for rule in rules:
        if rule.view not in described:
            rows = con.execute(f"DESCRIBE SELECT * FROM {rule.view}").fetchall()
            described[rule.view] = {row[0] for row in rows}
        columns = described[rule.view]
        for name in ("group_by", "field", "top"):
            value = getattr(rule, name)
            for column in (value,) if isinstance(value, str) else value or ():
                if column not in columns:
                    raise RuleError(
                        f"rule {rule.id!r}: field {name!r}: no column {column!r} in view "
                        f"{rule.view} (columns: {', '.join(sorted(columns))})"
                    )
        sql, params = rule_query(rule, now)
        try:
            con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).fetchall()
        except duckdb.Error as exc:
            culprit = "where" if rule.where else "view"
            first = str(exc).splitlines()[0]
            raise RuleError(
                f"rule {rule.id!r}: field {culprit!r}: the query fails: {first}"
            ) from None


# -- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownAlert:
    """What state remembers of one rule + key."""

    rule_id: str
    key: str
    open: bool
    opened_at: datetime | None = None
    last_alerted_at: datetime | None = None


@dataclass(frozen=True)
class Silence:
    rule_id: str
    key: str | None
    until: datetime

    def covers(self, rule_id: str, key: str, now: datetime) -> bool:
        return self.rule_id == rule_id and self.key in (None, key) and now < self.until


@dataclass(frozen=True)
class Memory:
    """Evaluation input from state: known alerts by (rule id, key), and silences."""

    alerts: Mapping[tuple[str, str], KnownAlert] = field(default_factory=dict)
    silences: tuple[Silence, ...] = ()

    def silenced(self, rule_id: str, key: str, now: datetime) -> bool:
        return any(s.covers(rule_id, key, now) for s in self.silences)


@dataclass(frozen=True)
class Alert:
    """One rule + key at one evaluation: firing, resolved, or suppressed (``reason`` says why)."""

    rule: Rule
    key: str
    status: str  # firing | resolved
    start: datetime
    end: datetime
    labels: tuple[tuple[str, str], ...] = ()
    count: int = 0
    value: int = 0
    normal: float | None = None
    top: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()
    since: datetime | None = None
    announce: bool = True
    reason: str | None = None


@dataclass(frozen=True)
class Evaluation:
    now: datetime
    firing: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    suppressed: tuple[Alert, ...] = ()

    @property
    def announced(self) -> tuple[Alert, ...]:
        return self.firing + tuple(a for a in self.resolved if a.announce)


def query_rule(con: duckdb.DuckDBPyConnection, rule: Rule, now: datetime) -> list[Alert]:
    """The keys for which ``rule`` fires at ``now``, as firing alerts."""
    sql, params = rule_query(rule, now)
    try:
        rows = con.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        raise RuleError(f"rule {rule.id!r}: the query fails: {str(exc).splitlines()[0]}") from None
    start = now - rule.window
    if rule.kind == "absence":
        hit = Alert(rule, "", "firing", start, now)
        return [hit] if rows[0][0] == 0 else []
    ratio = rule.window / rule.baseline if rule.baseline else 0.0
    hits, width = [], len(rule.group_by)
    for row in rows:
        values = tuple(NO_KEY if v is None else v for v in row[:width])
        n, value, base, top = row[width:]
        labels = tuple(zip(rule.group_by, values, strict=True))
        normal = None if base is None else base * ratio
        ranked = tuple((column, _top3(counts)) for column, counts in (top or {}).items())
        hit = Alert(
            rule, " / ".join(values), "firing", start, now, labels, n, value, normal, ranked
        )
        hits.append(hit)
    return hits


def _top3(counts: Mapping[Any, int] | None) -> tuple[tuple[str, int], ...]:
    pairs = sorted(((str(k), int(c)) for k, c in (counts or {}).items()), key=lambda p: -p[1])
    return tuple(pairs[:3])


def evaluate_rules(
    con: duckdb.DuckDBPyConnection, rules: Iterable[Rule], now: datetime, memory: Memory
) -> Evaluation:
    """Evaluate ``rules`` at ``now``: new or repeating alerts fire unless silenced or inside their
    cooldown; open alerts whose key no longer fires are resolved (announced if ``resolve``)."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    firing: list[Alert] = []
    resolved: list[Alert] = []
    suppressed: list[Alert] = []
    for rule in rules:
        if not rule.enabled or not rule.active_at(now):
            continue
        hits = query_rule(con, rule, now)
        for hit in hits:
            known = memory.alerts.get((rule.id, hit.key))
            hit = replace(hit, since=known.opened_at if known and known.open else None)
            last = known.last_alerted_at if known else None
            if memory.silenced(rule.id, hit.key, now):
                suppressed.append(replace(hit, announce=False, reason="silenced"))
            elif last is not None and now - last < rule.cooldown:
                suppressed.append(replace(hit, announce=False, reason="cooldown"))
            else:
                firing.append(hit)
        keys = {hit.key for hit in hits}
        for known in memory.alerts.values():
            if known.rule_id == rule.id and known.open and known.key not in keys:
                announce = rule.resolve and not memory.silenced(rule.id, known.key, now)
                gone = Alert(rule, known.key, "resolved", now - rule.window, now)
                resolved.append(replace(gone, since=known.opened_at, announce=announce))
    return Evaluation(now, tuple(firing), tuple(resolved), tuple(suppressed))
