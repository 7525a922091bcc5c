"""One alert check: evaluate the rules, remember the outcome, send the digests, retry what failed.

``okta-alerts alerts check``, the scheduler and the notebooks' alerting cell all come here. The
order makes delivery at-least-once and never lost: the evaluation and its queued notifications
are committed to state in one transaction before anything is sent; then every undelivered
notification (this one and earlier failures) is attempted, and each outcome is recorded. Each
target gets the digest of the rules it is for (``notify_tags``), in its own format and body
limit; targets that would get the same message share one notification. The digest points to the
matching report of each rule: the one this run wrote, else the latest the schedule or ``report``
wrote, else the command that writes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from okta_alerts.alerts.attachments import shared_chart
from okta_alerts.alerts.digest import Digest, DigestOptions, render_digest
from okta_alerts.alerts.evaluate import Alert, Evaluation, Memory, evaluate_rules
from okta_alerts.alerts.notify import Delivery, Target, deliver_pending, load_targets, matching
from okta_alerts.alerts.queries import check_queries
from okta_alerts.alerts.rules import Rule, load_rules, report_of
from okta_alerts.alerts.state import State, open_state
from okta_alerts.analysis.networks import KnownNetworks
from okta_alerts.config import Settings, load_settings
from okta_alerts.read import connect
from okta_alerts.times import format_minute, parse_time

log = logging.getLogger(__name__)


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
            f"at {format_minute(e.now)} UTC"
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
    reports: Mapping[str, str] | None = None,
) -> CheckResult:
    """Evaluate the rules at ``now`` (default: the clock), update state and notify.

    With ``dry_run`` state is only read and nothing is sent; the result carries the digest.
    ``reports`` (notebook -> path or URL) are reports of this run the digest points to.
    """
    rules = load_rules(rules_path or settings.rules)
    when = parse_time(now) if now is not None else datetime.now(UTC)
    networks = KnownNetworks.from_settings(settings)
    con = connect(settings.data_dir)
    try:
        check_queries(con, rules, networks)
        if dry_run:
            memory, links = _read_state(settings, rules, reports)
            evaluation = evaluate_rules(con, rules, when, memory, networks)
            options = DigestOptions("text", None, settings.okta_org_url, links)
            return CheckResult(evaluation, _console(evaluation, options), dry_run=True)
        targets = load_targets(settings)
        with open_state(settings) as state:
            evaluation = evaluate_rules(con, rules, when, state.memory(), networks)
            links = report_links(settings, rules, reports, state)
            options = DigestOptions("text", None, settings.okta_org_url, links)
            digest = _console(evaluation, options)
            notes: list[dict[str, Any]] = []
            unmatched: list[str] = []
            if digest is not None and targets:
                notes, unmatched = _plan(con, evaluation.announced, targets, when, options)
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


def _console(evaluation: Evaluation, options: DigestOptions) -> Digest | None:
    """The digest as plain text, whole (what the command prints)."""
    announced = evaluation.announced
    return render_digest(announced, evaluation.now, options) if announced else None


def check_from_notebook(data_dir: Any = None, rules: Any = None, end: Any = None) -> CheckResult:
    """The notebooks' alerting cell: check the rules at the notebook's ``end`` and notify.

    A failed delivery does not fail the notebook: it stays pending, is retried on the next
    check, and the returned result (printed by the cell) names the failed target.
    """
    settings = load_settings(overrides={"data_dir": data_dir, "rules": rules})
    result = check_alerts(settings, now=end)
    if result.failures:
        log.warning("alert notification failed: %s", "; ".join(result.failures))
    return result


def report_links(
    settings: Settings,
    rules: Sequence[Rule],
    given: Mapping[str, str] | None,
    state: State | None,
) -> dict[str, str]:
    """Where each rule's report notebook last wrote an HTML report: ``given`` first, then the
    schedule's latest successful run of it, then the newest file ``okta-alerts report`` wrote."""
    names = {name for rule in rules if (name := report_of(rule))}
    found = dict(given or {})
    latest = state.latest_reports() if state is not None else {}
    for name in names - set(found):
        if name in latest:
            found[name] = latest[name]
            continue
        written = sorted((settings.reports_dir / name).glob("*.html"))
        if written:
            found[name] = str(written[-1])
    return found


def _read_state(
    settings: Settings, rules: Sequence[Rule], reports: Mapping[str, str] | None
) -> tuple[Memory, dict[str, str]]:
    if not settings.state_path.exists():
        return Memory(), report_links(settings, rules, reports, None)
    with open_state(settings) as state:
        return state.memory(), report_links(settings, rules, reports, state)


def _plan(
    con: duckdb.DuckDBPyConnection,
    alerts: Sequence[Alert],
    targets: Sequence[Target],
    now: datetime,
    options: DigestOptions,
) -> tuple[list[dict[str, Any]], list[str]]:
    """One notification per set of targets that get the same message: the same alerts (by
    each rule's notify_tags), in the same format, within the same limit."""
    wanted: dict[str, list[Alert]] = {}
    unmatched = []
    for rule in {a.rule.id: a.rule for a in alerts}.values():
        chosen = matching(targets, rule.notify_tags)
        if not chosen:
            unmatched.append(rule.id)
        for target in chosen:
            wanted.setdefault(target.id, []).extend(a for a in alerts if a.rule.id == rule.id)
    by_id = {t.id: t for t in targets}
    groups: dict[tuple[Any, ...], list[str]] = {}
    for target_id, chosen_alerts in wanted.items():
        target = by_id[target_id]
        title_size = target.title_in_body
        shape = (tuple(sorted(map(id, chosen_alerts))), target.fmt, target.limit, title_size)
        groups.setdefault(shape, []).append(target_id)
    notes: list[dict[str, Any]] = []
    drawn: dict[str, tuple[str, bytes] | None] = {}
    for target_ids in groups.values():
        subset, target = wanted[target_ids[0]], by_id[target_ids[0]]
        title = render_digest(subset, now, options).title
        shaped = DigestOptions(target.fmt, target.budget(title), options.org_url, options.reports)
        digest = render_digest(subset, now, shaped)
        notes.append(
            {
                "kind": "digest",
                "title": digest.title,
                "body": digest.body,
                "body_format": digest.fmt,
                "notify_type": digest.notify_type,
                "targets": target_ids,
                "attachment": shared_chart(drawn, con, subset, now),
            }
        )
    return notes, unmatched
