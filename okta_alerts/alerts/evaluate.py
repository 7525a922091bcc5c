"""Evaluation: rules at one time, against what state remembers, as firing, resolved and
suppressed alerts.

:func:`evaluate_rules` turns (connection, rules, now, memory of earlier alerts) into an
:class:`Evaluation`; it reads nothing but the rules' queries (:mod:`okta_alerts.alerts.queries`)
and writes nothing. An alert that keeps firing carries its life so far (opened, peak, total
since it opened); a resolved one its final figures. A rule's ``inhibit`` holds back the alerts
of other rules while it fires, so one incident is told once: an alert held back stays held (not
announced, not resolved aloud) for as long as it keeps firing, even after the rule that held it
has cleared, since it belongs to that incident. Recording the outcome is
:mod:`okta_alerts.alerts.state`'s; announcing it :mod:`okta_alerts.alerts.digest`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import duckdb

from okta_alerts.alerts.hits import Hit, Ref, Top
from okta_alerts.alerts.kinds import AbsenceRule, Rule
from okta_alerts.alerts.queries import lifetime_totals, query_rule
from okta_alerts.analysis.networks import KnownNetworks


@dataclass(frozen=True)
class KnownAlert:
    """What state remembers of one rule + key."""

    rule_id: str
    key: str
    open: bool
    opened_at: datetime | None = None
    last_alerted_at: datetime | None = None
    peak: int = 0  # the highest count (value) seen while open
    held_by: str | None = None  # the rule whose incident it belongs to (inhibit)


@dataclass(frozen=True)
class Silence:
    """No announcements for a rule (or one of its keys, when ``key`` is set) until ``until``."""

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
    top: Top = ()
    since: datetime | None = None  # opened at, for an alert that was already open
    announce: bool = True
    reason: str | None = None
    severity: str | None = None  # None: the rule's
    notes: tuple[str, ...] = ()
    refs: tuple[Ref, ...] = ()
    peak: int = 0  # the highest value since it opened (this one included)
    total: int | None = None  # what the rule counts since it opened (resolved: in all)
    held_by: str | None = None  # suppressed as part of this rule's incident (inhibit)

    @property
    def level(self) -> str:
        """The severity it is announced with."""
        return self.severity or self.rule.severity


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating the rules at ``now``."""

    now: datetime
    firing: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    suppressed: tuple[Alert, ...] = ()

    @property
    def announced(self) -> tuple[Alert, ...]:
        return self.firing + tuple(a for a in self.resolved if a.announce)


def _firing(rule: Rule, hit: Hit, now: datetime, known: KnownAlert | None) -> Alert:
    opened = known.opened_at if known and known.open else None
    peak = max(known.peak if known and known.open else 0, hit.value)
    return Alert(
        rule,
        hit.key,
        "firing",
        now - (hit.window or rule.window),
        now,
        hit.labels,
        hit.count,
        hit.value,
        hit.normal,
        hit.top,
        since=opened,
        severity=hit.severity,
        notes=hit.notes,
        refs=hit.refs,
        peak=peak,
        total=None if opened else hit.value,
    )


def evaluate_rules(
    con: duckdb.DuckDBPyConnection,
    rules: Iterable[Rule],
    now: datetime,
    memory: Memory,
    networks: KnownNetworks | None = None,
) -> Evaluation:
    """Evaluate ``rules`` at ``now``: new or repeating alerts fire unless silenced, inside their
    cooldown or inhibited by another rule that fires; open alerts whose key no longer fires are
    resolved (announced if ``resolve``). Repeats and resolved alerts get their totals."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    rules = list(rules)
    firing: list[Alert] = []
    resolved: list[Alert] = []
    suppressed: list[Alert] = []
    hit_rules: set[str] = set()
    for rule in rules:
        if not rule.enabled or not rule.active_at(now):
            continue
        alerts = [
            _firing(rule, hit, now, memory.alerts.get((rule.id, hit.key)))
            for hit in query_rule(con, rule, now, networks)
        ]
        hit_rules |= {rule.id} if alerts else set()
        for alert in alerts:
            known = memory.alerts.get((rule.id, alert.key))
            last = known.last_alerted_at if known else None
            if known and known.open and known.held_by:
                why = f"inhibited by {known.held_by}"
                suppressed.append(replace(alert, announce=False, reason=why, held_by=known.held_by))
            elif memory.silenced(rule.id, alert.key, now):
                suppressed.append(replace(alert, announce=False, reason="silenced"))
            elif last is not None and now - last < rule.cooldown:
                suppressed.append(replace(alert, announce=False, reason="cooldown"))
            else:
                firing.append(alert)
        resolved += _cleared(rule, {a.key for a in alerts}, memory, now)
    held = {t: r.id for r in rules if r.id in hit_rules for t in r.inhibit if t != r.id}
    kept = [a for a in firing if a.rule.id not in held]
    suppressed += [
        replace(a, announce=False, reason=f"inhibited by {by}", held_by=by)
        for a in firing
        if (by := held.get(a.rule.id))
    ]
    kept, resolved = _with_totals(con, kept, resolved, now, networks)
    return Evaluation(now, tuple(kept), tuple(resolved), tuple(suppressed))


def _cleared(rule: Rule, keys: set[str], memory: Memory, now: datetime) -> list[Alert]:
    """Open alerts of ``rule`` whose key no longer fires."""
    gone = []
    for known in memory.alerts.values():
        if known.rule_id == rule.id and known.open and known.key not in keys:
            quiet = memory.silenced(rule.id, known.key, now) or known.held_by is not None
            announce = rule.resolve and not quiet
            opened = known.opened_at or now
            gone.append(
                Alert(
                    rule,
                    known.key,
                    "resolved",
                    opened,
                    now,
                    since=known.opened_at,
                    announce=announce,
                    peak=known.peak,
                )
            )
    return gone


def _with_totals(
    con: duckdb.DuckDBPyConnection,
    firing: list[Alert],
    resolved: list[Alert],
    now: datetime,
    networks: KnownNetworks | None,
) -> tuple[list[Alert], list[Alert]]:
    """Repeats and resolved alerts with what their rule counted since they opened (one query
    per rule; the window before the opening counts, as it made the alert open)."""
    todo = [a for a in firing if a.since] + resolved
    by_rule: dict[str, dict[str, datetime]] = {}
    rules: dict[str, Rule] = {}
    for alert in todo:
        if isinstance(alert.rule, AbsenceRule) or alert.since is None:
            continue
        rules[alert.rule.id] = alert.rule
        by_rule.setdefault(alert.rule.id, {})[alert.key] = alert.since - alert.rule.window
    totals = {
        (rule_id, key): n
        for rule_id, since in by_rule.items()
        for key, n in lifetime_totals(con, rules[rule_id], since, now, networks).items()
    }

    def done(alert: Alert) -> Alert:
        if (alert.rule.id, alert.key) not in totals:
            return alert
        return replace(alert, total=max(totals[(alert.rule.id, alert.key)], alert.peak))

    return [done(a) for a in firing], [done(a) for a in resolved]
