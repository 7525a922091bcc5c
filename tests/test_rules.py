"""Alert rules: format validation, each kind around its threshold, keys, windows, memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from okta_alerts.alerts.evaluate import Evaluation, KnownAlert, Memory, Silence, evaluate_rules
from okta_alerts.alerts.queries import check_queries
from okta_alerts.alerts.rules import FIELDS, KINDS, RULE_MODELS, Rule, load_rules, parse_rules
from okta_alerts.config import SHIPPED_RULES
from okta_alerts.errors import RuleError
from okta_alerts.times import parse_duration
from tests.support.factories import make_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
Row = tuple[datetime, str | None, str]  # published, client_ip, actor


def view_db(rows: Iterable[Row]) -> duckdb.DuckDBPyConnection:
    """Tables shaped like the views' columns the rules use: exact, fast and in memory."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for view in ("events", "lockouts"):
        con.execute(
            f"CREATE TABLE {view} (published TIMESTAMPTZ, client_ip VARCHAR,"
            " actor_alternate_id VARCHAR, outcome_reason VARCHAR,"
            " event_type VARCHAR DEFAULT 'user.account.lock', outcome_result VARCHAR DEFAULT"
            " 'FAILURE', client_zone VARCHAR, actor_id VARCHAR, actor_type VARCHAR DEFAULT 'User')"
        )
    rows = list(rows)
    if rows:
        con.executemany(
            "INSERT INTO lockouts (published, client_ip, actor_alternate_id, outcome_reason)"
            " VALUES (?, ?, ?, 'LOCKED_OUT')",
            rows,
        )
    con.execute("INSERT INTO events SELECT * FROM lockouts")
    return con


def rule(**fields: Any) -> Rule:
    base = {"id": "r", "view": "lockouts", "kind": "threshold", "window": "15m", "threshold": 5}
    return parse_rules([{**base, **fields}])[0]


def lockouts(n: int, ago: timedelta = timedelta(minutes=1), ip: str = "198.51.100.1") -> list[Row]:
    return [(NOW - ago, ip, f"user{i}@example.com") for i in range(n)]


def fired(con: duckdb.DuckDBPyConnection, r: Rule, memory: Memory | None = None) -> list[str]:
    return [a.key for a in evaluate_rules(con, [r], NOW, memory or Memory()).firing]


def remember(memory: Memory, evaluation: Evaluation) -> Memory:
    """What state records after an evaluation (tested end to end in test_notify)."""
    alerts = dict(memory.alerts)
    for a in evaluation.firing:
        old = alerts.get((a.rule.id, a.key))
        since = old.opened_at if old and old.open else evaluation.now
        alerts[(a.rule.id, a.key)] = KnownAlert(a.rule.id, a.key, True, since, evaluation.now)
    for a in evaluation.resolved:
        alerts[(a.rule.id, a.key)] = replace(alerts[(a.rule.id, a.key)], open=False)
    return replace(memory, alerts=alerts)


# -- each kind just below, at and just above its threshold ----------------------------------

SPIKE = {"kind": "spike", "window": "1h", "baseline": "10h", "factor": 3, "min_count": 2}
BASELINE_20 = lockouts(20, timedelta(hours=5))  # mean 2 per hour over the 10 h baseline


def _distinct(users: int) -> list[Row]:
    # two lockouts of each user: the event count is twice the distinct count
    return [
        (NOW - timedelta(minutes=m), "198.51.100.1", f"u{i}") for i in range(users) for m in (1, 2)
    ]


DISTINCT = {"kind": "distinct", "field": "actor_alternate_id", "threshold": 4}
NEW = {**SPIKE, "new_only": True}
ABSENCE = {"kind": "absence", "view": "events", "window": "1h"}
SPRAY = {"kind": "spray", "field": "actor_alternate_id", "group_by": ["client_ip"],
         "threshold": 4, "window": "1h"}  # fmt: skip
CASES: list[tuple[str, dict[str, Any], list[Row], bool]] = [
    ("threshold below", {}, lockouts(4), False),
    ("threshold at", {}, lockouts(5), True),
    ("threshold above", {}, lockouts(6), True),
    ("distinct below", DISTINCT, _distinct(3), False),
    ("distinct at", DISTINCT, _distinct(4), True),
    ("distinct above", DISTINCT, _distinct(5), True),
    ("spike below", SPIKE, BASELINE_20 + lockouts(5), False),
    ("spike at", SPIKE, BASELINE_20 + lockouts(6), True),
    ("spike above", SPIKE, BASELINE_20 + lockouts(7), True),
    ("spike under min_count", {**SPIKE, "min_count": 8}, BASELINE_20 + lockouts(7), False),
    ("spike min_count at", {**SPIKE, "min_count": 7}, BASELINE_20 + lockouts(7), True),
    ("spike from zero", SPIKE, lockouts(2), True),
    ("spike new_only, seen before", NEW, BASELINE_20 + lockouts(9), False),
    ("spike new_only, new", NEW, lockouts(1, timedelta(hours=12)) + lockouts(2), True),
    ("absence with none", ABSENCE, [], True),
    ("absence with one", ABSENCE, lockouts(1), False),
    ("spray below", SPRAY, _distinct(3), False),
    ("spray at", SPRAY, _distinct(4), True),
    ("spray above", SPRAY, _distinct(5), True),
]


@pytest.mark.parametrize(
    ("fields", "rows", "fires"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_kind_thresholds(fields: dict[str, Any], rows: list[Row], fires: bool) -> None:
    if fields.get("kind") not in (None, "threshold", "distinct", "spray"):
        fields = {**fields, "threshold": None}
    con = view_db(rows)
    keys = ["198.51.100.1"] if fields.get("kind") == "spray" else [""]
    assert fired(con, rule(**fields)) == (keys if fires else [])


def test_every_kind_has_cases() -> None:
    assert set(KINDS) <= {c[0].split()[0] for c in CASES}


# -- group keys and window edges -------------------------------------------------------------


def test_group_keys_fire_separately_with_counts_and_top_values() -> None:
    rows = lockouts(6, ip="203.0.113.7") + lockouts(2, ip="203.0.113.8") + lockouts(5, ip=None)
    r = rule(group_by=["client_ip"], top=["actor_alternate_id"])
    evaluation = evaluate_rules(view_db(rows), [r], NOW, Memory())
    assert [(a.key, a.count) for a in evaluation.firing] == [("203.0.113.7", 6), ("(none)", 5)]
    first = evaluation.firing[0]
    assert first.labels == (("client_ip", "203.0.113.7"),)
    assert dict(first.top)["actor_alternate_id"][0][1] == 1


def test_distinct_lists_its_field_by_default() -> None:
    r = rule(kind="distinct", field="actor_alternate_id", threshold=2, group_by="client_ip")
    (alert,) = evaluate_rules(view_db(_distinct(3)), [r], NOW, Memory()).firing
    assert (alert.key, alert.value, alert.count) == ("198.51.100.1", 3, 6)
    assert [v for v, _ in dict(alert.top)["actor_alternate_id"]] == ["u0", "u1", "u2"]


@pytest.mark.parametrize(
    ("ago", "counts"),
    [
        (timedelta(minutes=15), True),  # [now - window, now): the start is inside
        (timedelta(minutes=15, microseconds=1), False),
        (timedelta(0), False),  # the end is outside
        (timedelta(microseconds=1), True),
    ],
)
def test_window_edges(ago: timedelta, counts: bool) -> None:
    con = view_db(lockouts(4) + lockouts(1, ago))
    assert fired(con, rule()) == ([""] if counts else [])


def test_where_filters_and_normal_compares_with_baseline() -> None:
    rows = lockouts(5) + lockouts(14, timedelta(hours=3))
    r = rule(where="actor_alternate_id <> 'user0@example.com'", baseline="2h", threshold=4)
    (alert,) = evaluate_rules(view_db(rows), [r], NOW, Memory()).firing
    assert alert.count == 4
    assert alert.normal == 0.0
    r = rule(baseline="4h")
    (alert,) = evaluate_rules(view_db(rows), [r], NOW, Memory()).firing
    assert alert.normal == pytest.approx(14 / 16)  # 14 over sixteen 15-minute windows


# -- cooldown, resolve, silences -------------------------------------------------------------


def test_cooldown_suppresses_a_repeat_and_lets_it_through_after() -> None:
    r = rule(cooldown="1h")
    con = view_db(
        lockouts(5) + lockouts(5, timedelta(minutes=31)) + lockouts(5, timedelta(minutes=61))
    )
    first = evaluate_rules(con, [r], NOW - timedelta(hours=1), Memory())
    assert len(first.firing) == 1
    memory = remember(Memory(), first)
    again = evaluate_rules(con, [r], NOW - timedelta(minutes=30), memory)
    assert (again.firing, [a.reason for a in again.suppressed]) == ((), ["cooldown"])
    later = evaluate_rules(con, [r], NOW, memory)
    assert [a.since for a in later.firing] == [NOW - timedelta(hours=1)]  # still open, repeated


def test_resolve_fires_once() -> None:
    r = rule()
    con = view_db(lockouts(5, timedelta(minutes=40)))
    memory = remember(Memory(), evaluate_rules(con, [r], NOW - timedelta(minutes=30), Memory()))
    cleared = evaluate_rules(con, [r], NOW, memory)
    assert [(a.status, a.announce) for a in cleared.resolved] == [("resolved", True)]
    memory = remember(memory, cleared)
    assert evaluate_rules(con, [r], NOW + timedelta(minutes=5), memory).resolved == ()
    quiet = rule(resolve=False)
    memory = remember(Memory(), evaluate_rules(con, [quiet], NOW - timedelta(minutes=30), Memory()))
    assert [a.announce for a in evaluate_rules(con, [quiet], NOW, memory).resolved] == [False]


@pytest.mark.parametrize(
    ("key", "until", "silenced"),
    [(None, NOW + timedelta(hours=1), True), ("203.0.113.7", NOW + timedelta(hours=1), True),
     ("203.0.113.9", NOW + timedelta(hours=1), False), (None, NOW, False)],
)  # fmt: skip
def test_silence_suppresses(key: str | None, until: datetime, silenced: bool) -> None:
    r = rule(group_by=["client_ip"])
    memory = Memory(silences=(Silence("r", key, until),))
    evaluation = evaluate_rules(view_db(lockouts(5, ip="203.0.113.7")), [r], NOW, memory)
    assert [a.reason for a in evaluation.suppressed] == (["silenced"] if silenced else [])
    assert len(evaluation.firing) == (0 if silenced else 1)


def test_inactive_hours_and_disabled_rules_are_skipped() -> None:
    con = view_db([])
    office = rule(kind="absence", threshold=None, active_hours="09:00-17:00", active_days="mon-fri")
    assert fired(con, office) == [""]  # Monday 12:00 UTC
    assert fired(con, office.model_copy(update={"timezone": ZoneInfo("Asia/Tokyo")})) == []
    assert fired(con, office.model_copy(update={"active_days": (5, 6)})) == []
    assert fired(con, office.model_copy(update={"enabled": False})) == []


# -- validation -----------------------------------------------------------------------------

A = "id: a, view: lockouts, kind: absence, window: 1h"
T = "id: a, view: lockouts, kind: threshold"
S = "id: a, view: lockouts, kind: spike"
D = "id: a, view: lockouts, kind: distinct, window: 1h, field: client_ip, threshold: 2"
BAD: list[tuple[str, str, str]] = [
    (f"- {{{T}, window: 15m}}", "'a'", "field 'threshold' is required for kind 'threshold'"),
    (f"- {{{T}, window: 15x, threshold: 3}}", "'a'", "field 'window': '15x' is not a duration"),
    (f"- {{{T}, window: 1h, threshold: 0}}", "'a'", "field 'threshold': 0 must be a whole number"),
    (f"- {{{S}, window: 1h}}", "'a'", "field 'baseline' is required for kind 'spike'"),
    (f"- {{{S}, window: 1d, baseline: 1h}}", "'a'", "field 'baseline' must be at least the window"),
    (
        f"- {{{A}, group_by: [client_ip]}}",
        "'a'",
        "field 'group_by' does not apply to kind 'absence'",
    ),
    (f"- {{{A}, colour: red}}", "'a'", "unknown field 'colour'"),
    (f"- {{{D}, baseline: 1d}}", "'a'", "field 'baseline' does not apply to kind 'distinct'"),
    (f"- {{{A}, severity: urgent}}", "'a'", "field 'severity': 'urgent' is not one of"),
    (f"- {{{A}, active_hours: 9-5}}", "'a'", "field 'active_hours': '9-5' is not a range"),
    (f"- {{{A}, cooldown: soon}}", "'a'", "field 'cooldown': 'soon' is not a duration"),
    (f"- {{{A}, resolve: maybe}}", "'a'", "field 'resolve': 'maybe' must be true or false"),
    ("- {id: a, view: nope, kind: absence, window: 1h}", "'a'", "field 'view': 'nope' is not one"),
    ("- {id: a, view: lockouts, kind: burst, window: 1h}", "'a'", "field 'kind': 'burst' is not"),
    ("- {view: lockouts, kind: absence, window: 1h}", "#1", "field 'id' is required"),
    ("- {id: A B, view: events, kind: absence, window: 1h}", "'A B'", "field 'id': 'A B' must be"),
    (f"- {{{A}}}\n- {{{A}}}", "'a'", "field 'id' is used by two rules"),
    ("- just text", "#1", "must be a mapping"),
]


@pytest.mark.parametrize(("text", "name", "message"), BAD, ids=[m[:40] for *_, m in BAD])
def test_bad_rule_file_is_refused_naming_rule_and_field(
    tmp_path: Path, text: str, name: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}: rule {name}: {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [("rules: {a: 1}", "must be a list of rules"), ("- {id: a, view: [unclosed", "not valid YAML")],
)
def test_unreadable_rule_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RuleError, match=re.escape(str(path)) + ".*" + message):
        load_rules(path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"where": "no_such_column = 1"}, "rule 'r': field 'where': the query fails"),
     ({"where": "published >"}, "rule 'r': field 'where': the query fails"),
     ({"group_by": ["colour"]}, "rule 'r': field 'group_by': no column 'colour' in view lockouts")],
)  # fmt: skip
def test_bad_sql_is_refused_when_checked(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        check_queries(view_db([]), [rule(**fields)])


# -- one model per kind ----------------------------------------------------------------------

# The fields each kind needs, and fields that only some kinds take (with a valid value).
NEEDS: dict[str, dict[str, Any]] = {
    "threshold": {"threshold": 3},
    "distinct": {"field": "client_ip", "threshold": 3},
    "spike": {"baseline": "1d"},
    "absence": {},
    "spray": {"field": "actor_alternate_id", "threshold": 3, "group_by": ["client_ip"]},
}
ONLY_SOME: list[tuple[str, Any, set[str]]] = [
    ("group_by", ["client_ip"], {"threshold", "distinct", "spike", "spray"}),
    ("top", ["actor_alternate_id"], {"threshold", "distinct", "spike", "spray"}),
    ("threshold", 3, {"threshold", "distinct", "spray"}),
    ("field", "client_ip", {"distinct", "spray"}),
    ("baseline", "1d", {"threshold", "spike", "absence", "spray"}),
    ("factor", 2, {"spike"}),
    ("min_count", 2, {"spike"}),
    ("new_only", True, {"spike"}),
    ("min_window", "15m", {"absence"}),
    ("familiar_factor", 2, {"spray"}),
    ("known_networks", "exclude", {"spray"}),
    ("known_severity", "warning", {"spray"}),
]
KIND_CASES = [
    (name, value, kind, kind in kinds) for name, value, kinds in ONLY_SOME for kind in KINDS
]


@pytest.mark.parametrize(
    ("name", "value", "kind", "applies"),
    KIND_CASES,
    ids=[f"{n}-{k}" for n, _, k, _ in KIND_CASES],
)
def test_a_field_of_some_kinds_is_refused_by_the_others(
    name: str, value: Any, kind: str, applies: bool
) -> None:
    raw = {"id": "a", "view": "lockouts", "kind": kind, "window": "1h", **NEEDS[kind], name: value}
    if applies:
        (parsed,) = parse_rules([raw])
        assert isinstance(parsed, RULE_MODELS[kind]) and name in type(parsed).model_fields
        return
    with pytest.raises(RuleError) as caught:
        parse_rules([raw])
    assert str(caught.value) == f"rule 'a': field {name!r} does not apply to kind {kind!r}"


@pytest.mark.parametrize(
    ("kind", "defaults"),
    [("threshold", {"top": (), "group_by": (), "baseline": None}),
     ("distinct", {"top": ("client_ip",), "group_by": ()}),
     ("spike", {"top": (), "factor": 3.0, "min_count": 1, "new_only": False}),
     ("absence", {"title": "a", "severity": "warning", "cooldown": timedelta(hours=1),
                  "resolve": True, "enabled": True, "notify_tags": (),
                  "timezone": ZoneInfo("UTC"), "baseline": None, "inhibit": (), "report": None,
                  "min_window": timedelta(minutes=15)}),
     ("spray", {"top": ("actor_alternate_id",), "baseline": timedelta(days=14),
                "familiar_factor": 3.0, "known_networks": "downgrade",
                "known_severity": "info"})],
)  # fmt: skip
def test_each_kind_has_its_defaults(kind: str, defaults: dict[str, Any]) -> None:
    raw = {"id": "a", "view": "lockouts", "kind": kind, "window": "1h", **NEEDS[kind]}
    (parsed,) = parse_rules([raw])
    assert type(parsed) is RULE_MODELS[kind] and parsed.kind == kind
    assert {name: getattr(parsed, name) for name in defaults} == defaults


def test_a_distinct_rule_lists_what_top_says_when_given() -> None:
    r = rule(kind="distinct", field="actor_alternate_id", top=["client_ip"])
    assert r.top == ("client_ip",)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"kind": "burst", "colour": "red"}, "field 'kind': 'burst' is not one of: threshold,"),
     ({"kind": None}, "field 'kind' is required"),
     ({"kind": "distinct", "field": "Bad Column"}, "field 'field': 'Bad Column' is not a column"),
     ({"kind": "spike", "threshold": None, "baseline": "1d", "colour": "red", "factor": 0},
      "unknown field 'colour'; known: id, title, view, where, kind, window, group_by,"),
     ({"kind": "absence", "threshold": None, "group_by": "client_ip", "severity": "urgent"},
      "field 'group_by' does not apply to kind 'absence'"),
     ({"baseline": "5m"}, "field 'baseline' must be at least the window (15m)")],
)  # fmt: skip
def test_the_kind_is_read_first_then_the_first_field_in_table_order(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleError) as caught:
        rule(**fields)
    assert str(caught.value).startswith(f"rule 'r': {message}")


def test_rules_are_frozen() -> None:
    r = rule()
    with pytest.raises(ValueError, match="frozen"):
        r.threshold = 9  # type: ignore[misc]
    assert r.model_copy(update={"threshold": 9}).threshold == 9 and r.threshold == 5


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("14d", 1209600), ("1h30m", 5400), ("2w", 1209600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_missing_file_says_which_setting() -> None:
    with pytest.raises(RuleError, match="OKTA_ALERTS_RULES"):
        load_rules("/nonexistent/rules.yaml")


def test_every_field_is_a_rule_attribute() -> None:
    assert {f.name for f in FIELDS} == {n for m in RULE_MODELS.values() for n in m.model_fields}
    for f in FIELDS:
        assert f.kinds == tuple(k for k, m in RULE_MODELS.items() if f.name in m.model_fields)
        assert set(f.required) <= set(f.kinds) and f.doc


# -- the shipped rules on the real views -----------------------------------------------------


def test_shipped_rules_load_and_run_on_the_real_views(
    fill_store: Callable[[list[dict[str, Any]]], int], data_dir: Path
) -> None:
    from okta_alerts import connect

    rules = load_rules(SHIPPED_RULES)
    storm = [
        make_event("user.account.lock", NOW - timedelta(seconds=20 * i), actor=f"u{i}@example.com",
                   ip="203.0.113.66", result="FAILURE", reason="LOCKED_OUT")
        for i in range(30)
    ]  # fmt: skip
    outage = [
        make_event("application.user_membership.add", NOW - timedelta(minutes=i), result="FAILURE",
                   reason="API rate limit exceeded", app="Salesforce.com", user=f"u{i}@example.com")
        for i in range(25)
    ]  # fmt: skip
    fill_store(storm + outage)
    con = connect(data_dir)
    check_queries(con, rules)
    evaluation = evaluate_rules(con, rules, NOW, Memory())
    ids = {a.rule.id for a in evaluation.firing}
    assert {
        "lockout-surge",
        "password-spray",
        "assignment-errors-surge",
        "new-assignment-error",
    } <= ids
    assert "no-events" not in ids
