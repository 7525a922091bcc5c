"""One alert check: evaluate the rules, remember the outcome, send the digest, retry what failed.

``okta-alerts alerts check``, the scheduler and the notebooks' alerting cell all come here. The
order makes delivery at-least-once and never lost: the evaluation and its queued notifications
are committed to state in one transaction before anything is sent; then every undelivered
notification (this one and earlier failures) is attempted, and each outcome is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from okta_alerts.config import Settings, load_settings
from okta_alerts.notify import (
    RANK,
    Delivery,
    Digest,
    Target,
    deliver_pending,
    load_targets,
    matching,
    render_digest,
)
from okta_alerts.rules import Alert, Evaluation, Memory, check_queries, evaluate_rules, load_rules
from okta_alerts.state import open_state
from okta_alerts.windows import parse_time

log = logging.getLogger(__name__)
# view of the most severe firing alert -> chart function in okta_alerts.charts
CHARTS = {
    "lockouts": "lockouts_chart",
    "unlocks": "lockouts_chart",
    "assignment_errors": "assignment_errors_chart",
    "events": "events_chart",
}
CHART_HOURS = 24


@dataclass
class CheckResult:
    """What a check did. ``str()`` is a one-paragraph summary."""

    evaluation: Evaluation
    digest: Digest | None
    dry_run: bool = False
    queued: int = 0
    delivered: int = 0
    failures: list[str] = field(default_factory=list)
    pending: int = 0
    no_targets: bool = False
    unmatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        e = self.evaluation
        parts = [
            f"{len(e.firing)} firing, {len(e.resolved)} resolved, {len(e.suppressed)} suppressed "
            f"at {e.now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        ]
        if self.dry_run:
            parts.append("dry run: nothing sent or recorded")
        elif self.no_targets and self.digest:
            parts.append("no apprise targets configured: digest printed only")
        else:
            parts.append(f"{self.queued} digests queued, {self.delivered} deliveries made")
        if self.unmatched:
            parts.append(f"no target has the notify_tags of: {', '.join(self.unmatched)}")
        if self.failures:
            parts.append("FAILED: " + "; ".join(self.failures))
        if self.pending:
            parts.append(f"{self.pending} notifications pending (retried on the next check)")
        return "; ".join(parts) + "."

    __str__ = summary


def check_alerts(
    settings: Settings,
    rules_path: str | Path | None = None,
    now: datetime | str | None = None,
    dry_run: bool = False,
    report: str | None = None,
) -> CheckResult:
    """Evaluate the rules at ``now`` (default: the clock), update state and notify.

    With ``dry_run`` state is only read and nothing is sent; the result carries the digest.
    ``report`` is the path of the HTML report of this run, shown in the digest when given.
    """
    from okta_alerts import connect

    rules = load_rules(rules_path or settings.rules)
    when = parse_time(now) if now is not None else datetime.now(UTC)
    con = connect(settings.data_dir)
    try:
        check_queries(con, rules)
        if dry_run:
            evaluation = evaluate_rules(con, rules, when, _read_memory(settings))
            announced = evaluation.announced
            digest = render_digest(announced, when, report) if announced else None
            return CheckResult(evaluation, digest, dry_run=True)
        targets = load_targets(settings)
        with open_state(settings) as state:
            evaluation = evaluate_rules(con, rules, when, state.memory())
            announced = evaluation.announced
            digest = render_digest(announced, when, report) if announced else None
            notes: list[dict[str, Any]] = []
            unmatched: list[str] = []
            if digest is not None and targets:
                notes, unmatched = _plan(con, announced, targets, when, report)
            state.record(evaluation, notes)
            delivery = deliver_pending(state, targets, when) if targets else Delivery()
            pending = state.counts().get("pending", 0)
    finally:
        con.close()
    return CheckResult(
        evaluation,
        digest,
        queued=len(notes),
        delivered=len(delivery.delivered),
        failures=delivery.failures,
        pending=pending,
        no_targets=not targets,
        unmatched=unmatched,
    )


def check_from_notebook(
    data_dir: Any = None, rules: Any = None, end: Any = None, report: str | None = None
) -> CheckResult:
    """The notebooks' alerting cell: check the rules at the notebook's ``end`` and notify.

    A failed delivery does not fail the notebook: it stays pending, is retried on the next
    check, and the returned result (printed by the cell) names the failed target.
    """
    settings = load_settings(overrides={"data_dir": data_dir, "rules": rules})
    result = check_alerts(settings, now=end, report=report)
    if result.failures:
        log.warning("alert notification failed: %s", "; ".join(result.failures))
    return result


def _read_memory(settings: Settings) -> Memory:
    if not settings.state_path.exists():
        return Memory()
    with open_state(settings) as state:
        return state.memory()


def _plan(
    con: duckdb.DuckDBPyConnection,
    alerts: Sequence[Alert],
    targets: Sequence[Target],
    now: datetime,
    report: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """One digest per set of targets that get the same alerts (by each rule's notify_tags)."""
    wanted: dict[str, list[Alert]] = {}
    unmatched = []
    for rule in {a.rule.id: a.rule for a in alerts}.values():
        chosen = matching(targets, rule.notify_tags)
        if not chosen:
            unmatched.append(rule.id)
        for target in chosen:
            wanted.setdefault(target.id, []).extend(a for a in alerts if a.rule.id == rule.id)
    groups: dict[tuple[int, ...], list[str]] = {}
    for target_id, chosen_alerts in wanted.items():
        groups.setdefault(tuple(sorted(map(id, chosen_alerts))), []).append(target_id)
    notes: list[dict[str, Any]] = []
    charts: dict[str, Any] = {}
    for target_ids in groups.values():
        subset = wanted[target_ids[0]]
        digest = render_digest(subset, now, report)
        notes.append(
            {
                "kind": "digest",
                "title": digest.title,
                "markdown": digest.markdown,
                "text": digest.text,
                "notify_type": digest.notify_type,
                "targets": target_ids,
                "attachment": _chart(charts, con, subset, now),
            }
        )
    return notes, unmatched


def _chart(
    cache: dict[str, Any], con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], now: datetime
) -> tuple[str, bytes] | None:
    """One chart per view per check, shared by the digests that show it."""
    firing = [a for a in alerts if a.status == "firing"]
    view = max(firing, key=lambda a: RANK[a.rule.severity]).rule.view if firing else ""
    if view not in cache:
        cache[view] = chart_attachment(con, alerts, now)
    return cache[view]


def chart_attachment(
    con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], now: datetime
) -> tuple[str, bytes] | None:
    """A PNG of the last day of the most severe firing alert's view, if charts can make one."""
    firing = [a for a in alerts if a.status == "firing"]
    if not firing:
        return None
    view = max(firing, key=lambda a: RANK[a.rule.severity]).rule.view
    try:
        from okta_alerts import charts  # type: ignore[attr-defined, unused-ignore]
        from okta_alerts.windows import make_window
    except ImportError as exc:
        log.info("no chart attached: %s", exc)
        return None
    make = getattr(charts, CHARTS.get(view, ""), None)
    if make is None:
        log.info("no chart attached: okta_alerts.charts has no %s", CHARTS.get(view, view))
        return None
    try:
        figure = make(con, make_window(end=now, window_hours=CHART_HOURS, baseline_days=0))
        return f"{view}.png", charts.to_png(figure)
    except Exception as exc:  # a chart must never keep an alert from being sent
        log.warning("no chart attached: %s failed: %s", make.__name__, exc)
        return None
