"""``okta status``: the whole feed, from Okta's hook to the store, one ✓/✗ line per question.

In order: the hook exists, is ``ACTIVE`` and ``VERIFIED``, and subscribes every needed
hook-eligible type (Event Hooks API, ``okta.eventHooks.read``); the receiver answers
``/healthz``; the last hook delivery and the last event stored; Okta's ``event_hook.delivery``
events of the last 24 h (System Log API, ``okta.logs.read``: each is a delivery Okta gave up
on); the hook's share of Okta's daily budget; the poll cursor's age; hook gaps. The status is
ok only when every line is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from okta_alerts.config import Settings
from okta_alerts.errors import OktaAlertsError
from okta_alerts.eventhooks.api import EventHooksApi, Hook
from okta_alerts.eventhooks.hook import subscribed
from okta_alerts.eventhooks.needs import collect_needs
from okta_alerts.eventhooks.pipeline import (
    Check,
    budget_check,
    delivery_check,
    gaps_check,
    poll_check,
    receiver_check,
    store_figures,
)
from okta_alerts.eventhooks.plan import Plan, make_plan
from okta_alerts.okta.eventcatalog import load_catalog
from okta_alerts.systemlog.client import SystemLogClient

DELIVERY_FAILED = "event_hook.delivery"  # Okta logs one per delivery it gave up on
CONNECT = "run okta-alerts okta connect --url https://<receiver>/hooks/okta"


@dataclass
class StatusReport:
    name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_problem(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def lines(self) -> list[str]:
        lines = []
        for check in self.checks:
            lines.append(f"{'✓' if check.ok else '✗'} {check.name:<17} {check.detail}")
            if check.fix:
                lines.append(f"  {'':<17} → {check.fix}")
        return lines

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "hook": self.name, "checks": [asdict(c) for c in self.checks]}


def pipeline_status(settings: Settings, name: str, now: datetime | None = None) -> StatusReport:
    now = now or datetime.now(UTC)
    catalog = load_catalog()
    plan = make_plan(collect_needs(settings, catalog), catalog)
    report = StatusReport(name, hook_checks(settings, name, plan))
    report.checks.append(receiver_check(settings))
    figures = _guarded("hook deliveries", lambda: store_figures(settings, now))
    if isinstance(figures, Check):
        report.checks.append(figures)
    else:
        report.checks.append(delivery_check(figures, now))
    report.checks.append(_guarded("delivery failures", lambda: failures_check(settings, now)))
    if not isinstance(figures, Check):
        report.checks.append(budget_check(figures))
    report.checks.append(_guarded("polling", lambda: poll_check(settings, plan, now)))
    report.checks.append(_guarded("hook gaps", lambda: gaps_check(settings, plan)))
    return report


def hook_checks(settings: Settings, name: str, plan: Plan) -> list[Check]:
    """Found; ACTIVE and VERIFIED; subscribed to every needed hook-eligible type."""
    try:
        with EventHooksApi.from_settings(settings, max_attempts=2, backoff_initial=0.5) as api:
            org, hook = api.org_url, api.find(name)
    except OktaAlertsError as exc:
        return [Check("hook", False, f"cannot read Okta's event hooks: {exc}", _api_fix())]
    if hook is None:
        return [Check("hook", False, f"no event hook named {name!r} in {org}", CONNECT)]
    config = (hook.get("channel") or {}).get("config") or {}
    found = Check("hook", True, f"{name!r} ({hook.get('id')}) calling {config.get('uri')}")
    return [found, _state_check(hook), _types_check(hook, plan)]


def _state_check(hook: Hook) -> Check:
    status, verified = hook.get("status"), hook.get("verificationStatus")
    detail = f"{status} and {verified}"
    if status == "ACTIVE" and verified == "VERIFIED":
        return Check("hook state", True, detail)
    fix = f"Okta sends events only to ACTIVE and VERIFIED hooks: {CONNECT}"
    return Check("hook state", False, detail, fix)


def _types_check(hook: Hook, plan: Plan) -> Check:
    missing = sorted(set(plan.subscribe) - set(subscribed(hook)))
    if not missing:
        return Check("hook types", True, f"all {len(plan.subscribe)} needed eligible types")
    shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return Check(
        "hook types", False, f"{len(missing)} needed types not subscribed: {shown}", CONNECT
    )


def failures_check(settings: Settings, now: datetime) -> Check:
    """Okta's ``event_hook.delivery`` events of the last 24 h: deliveries it gave up on."""
    with SystemLogClient.from_settings(settings, max_attempts=2, backoff_initial=0.5) as client:
        url = client.first_url(now - timedelta(hours=24), now, [DELIVERY_FAILED], now=now)
        failed = [event for page in client.pages(url, max_pages=5) for event in page.events]
    if not failed:
        return Check("delivery failures", True, f"no {DELIVERY_FAILED} events in the last 24 h")
    last = failed[-1]
    said = last.get("displayMessage") or (last.get("outcome") or {}).get("reason") or ""
    return Check(
        "delivery failures",
        False,
        f"{len(failed)} {DELIVERY_FAILED} events in the last 24 h (any hook of the org), the "
        f"last at {last.get('published')}: {said}",
        "Okta does not redeliver: check that the receiver was up and answered within 3 s, then "
        "fill the gap with okta-alerts backfill --since 24h --event-type <the hook's types>",
    )


def _guarded(name: str, check: Callable[[], Any]) -> Any:
    """``check()``, or a failed :class:`Check` saying why it could not be done."""
    try:
        return check()
    except (OktaAlertsError, duckdb.Error, OSError) as exc:
        fix = _api_fix() if name == "delivery failures" else "see the message"
        return Check(name, False, f"cannot be checked: {exc}", fix)


def _api_fix() -> str:
    return (
        "set OKTA_ALERTS_OKTA_ORG_URL and a token (OKTA_ALERTS_OKTA_API_TOKEN or --token-file) "
        "with okta.eventHooks.read and okta.logs.read, or an SSWS token of a super admin"
    )
