"""The shipped rules on the pipeline itself: hook delivery failures and the hook's daily budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import okta_alerts
from okta_alerts.alerts.evaluate import Memory, evaluate_rules
from okta_alerts.alerts.queries import check_queries
from okta_alerts.alerts.rules import Rule, ThresholdRule, load_rules
from okta_alerts.config import SHIPPED_RULES, Settings
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import write_batches
from tests.support.factories import make_event

NOW = datetime.now(UTC).replace(microsecond=0)


def shipped(rule_id: str) -> Rule:
    (rule,) = [r for r in load_rules(SHIPPED_RULES) if r.id == rule_id]
    return rule


def firing(settings: Settings, rule: Rule) -> dict[str, int]:
    con = okta_alerts.connect(settings.data_dir)
    try:
        check_queries(con, [rule])
        evaluation = evaluate_rules(con, [rule], NOW, Memory())
    finally:
        con.close()
    return {a.rule.id: a.count for a in evaluation.firing}


def test_the_pipeline_rules_come_last_in_their_own_block() -> None:
    ids = [r.id for r in load_rules(SHIPPED_RULES)]
    assert ids[-2:] == ["hook-delivery-failures", "hook-budget-warning"]
    text = SHIPPED_RULES.read_text()
    assert text.index("The pipeline itself") < text.index("id: hook-delivery-failures")


def test_one_failed_delivery_fires_once_polling_brought_it_in(settings: Settings) -> None:
    rule = shipped("hook-delivery-failures")
    assert firing(settings, rule) == {}
    failed = make_event("event_hook.delivery", NOW - timedelta(minutes=15), result="FAILURE")
    write_batches(settings, [Batch("systemlog:poll:x:1", [failed])])
    assert firing(settings, rule) == {"hook-delivery-failures": 1}


def test_the_budget_counts_hook_deliveries_only_and_fires_at_okta_s_warning(
    settings: Settings,
) -> None:
    rule = shipped("hook-budget-warning")
    assert isinstance(rule, ThresholdRule) and rule.threshold == 280_000
    small = rule.model_copy(update={"threshold": 3})
    times = [NOW - timedelta(minutes=m) for m in range(1, 4)]
    hook = [make_event("user.account.lock", t) for t in times]
    polled = [make_event("user.account.lock.limit", t) for t in times]
    files = [make_event("user.account.unlock", t) for t in times]
    write_batches(
        settings,
        [Batch("eventid-1", hook[:2]), Batch("systemlog:poll:x:1", polled), Batch(None, files)],
    )
    assert firing(settings, small) == {}
    write_batches(settings, [Batch("eventid-2", hook[2:])])
    assert firing(settings, small) == {"hook-budget-warning": 3}
