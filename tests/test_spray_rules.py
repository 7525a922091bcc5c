"""Spray rules, absence rules that follow the baseline, inhibition, and an alert's life (peak,
total, final figures) through evaluation and state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from okta_alerts.alerts.evaluate import Evaluation, Memory, evaluate_rules
from okta_alerts.alerts.queries import absence_window, check_queries
from okta_alerts.alerts.rules import AbsenceRule, Rule, parse_rules
from okta_alerts.alerts.state import open_state
from okta_alerts.analysis.networks import KnownNetworks, parse_networks
from tests.support.settings import make_settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
COLUMNS = (
    "published TIMESTAMPTZ, event_type VARCHAR, outcome_result VARCHAR, actor_alternate_id "
    "VARCHAR, actor_id VARCHAR, actor_type VARCHAR, client_ip VARCHAR, client_zone VARCHAR, "
    "as_number BIGINT, as_org VARCHAR"
)
LOCK = "user.account.lock"


def tables(rows: Iterable[tuple[Any, ...]]) -> duckdb.DuckDBPyConnection:
    """``events`` and ``lockouts`` tables with the columns these rules use."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE events ({COLUMNS})")
    rows = list(rows)
    if rows:
        con.executemany(f"INSERT INTO events VALUES ({', '.join('?' * 10)})", rows)
    con.execute(
        "CREATE VIEW lockouts AS SELECT * FROM events WHERE event_type = 'user.account.lock'"
    )
    return con


def row(ago: timedelta, kind: str, result: str, user: str, ip: str, zone: str | None = None,
        asn: int = 14061, org: str = "digitalocean, llc") -> tuple[Any, ...]:  # fmt: skip
    return (NOW - ago, kind, result, user, f"00u{abs(hash(user)) % 10**17:017d}", "User", ip, zone,
            asn, org)  # fmt: skip


def locks(users: int, ip: str, zone: str | None = None, ago: timedelta = timedelta(minutes=5),
          asn: int = 14061, prefix: str = "u") -> list[tuple[Any, ...]]:  # fmt: skip
    return [row(ago, LOCK, "FAILURE", f"{prefix}{i}@acme.com", ip, zone, asn) for i in range(users)]


def sign_ins(n: int, ip: str, ago: timedelta = timedelta(days=3), asn: int = 14061) -> list[Any]:
    return [row(ago, "user.session.start", "SUCCESS", f"s{i}@acme.com", ip, None, asn)
            for i in range(n)]  # fmt: skip


def rules(*raw: dict[str, Any]) -> list[Rule]:
    return parse_rules(list(raw))


SPRAY = {"id": "spray", "view": "lockouts", "kind": "spray", "field": "actor_alternate_id",
         "group_by": ["client_ip"], "threshold": 5, "window": "1h", "severity": "critical",
         "familiar_factor": 3}  # fmt: skip


def keys(evaluation: Evaluation) -> list[tuple[str, str]]:
    return [(a.key, a.level) for a in evaluation.firing]


def test_a_spray_from_a_network_nobody_signs_in_from_fires_at_the_threshold() -> None:
    con = tables(locks(5, "178.62.93.10"))
    (spray,) = rules(SPRAY)
    check_queries(con, [spray])
    evaluation = evaluate_rules(con, [spray], NOW, Memory())
    assert keys(evaluation) == [("178.62.93.10", "critical")]
    assert "no successful sign-in from it in the 14d before" in evaluation.firing[0].notes


def test_a_familiar_source_needs_familiar_factor_times_as_many() -> None:
    (spray,) = rules(SPRAY)
    familiar = sign_ins(3, "73.158.1.1")
    assert keys(evaluate_rules(tables(familiar + locks(14, "73.158.1.1")), [spray], NOW,
                               Memory())) == []  # fmt: skip
    fired = evaluate_rules(tables(familiar + locks(15, "73.158.1.1")), [spray], NOW, Memory())
    assert keys(fired) == [("73.158.1.1", "critical")]
    assert (
        "3 successful sign-ins from it in the 14d before (familiar: needs 15)"
        in fired.firing[0].notes
    )


def test_the_office_is_downgraded_and_named_and_a_cidr_counts_as_known() -> None:
    (spray,) = rules(SPRAY)
    con = tables(locks(20, "12.153.224.7", zone="HQ San Francisco") + locks(6, "203.0.113.5"))
    evaluation = evaluate_rules(con, [spray], NOW, Memory(), KnownNetworks())
    assert keys(evaluation) == [("12.153.224.7", "info"), ("203.0.113.5", "critical")]
    assert any("zone HQ San Francisco" in n for n in evaluation.firing[0].notes)
    cidr = KnownNetworks(parse_networks(["203.0.113.0/24"]))
    assert keys(evaluate_rules(con, [spray], NOW, Memory(), cidr))[1] == ("203.0.113.5", "info")


def test_a_network_rule_excluding_known_networks_sees_the_attacker_in_the_offices_asn() -> None:
    (by_asn,) = rules({**SPRAY, "group_by": ["as_number", "as_org"], "known_networks": "exclude",
                       "top": ["client_ip"]})  # fmt: skip
    office = locks(30, "12.153.224.7", zone="HQ San Francisco", asn=7018, prefix="o")
    spread = [row(timedelta(minutes=3), LOCK, "FAILURE", f"v{i}@acme.com", f"12.1.0.{i}", None,
                  7018) for i in range(4)]  # fmt: skip
    assert keys(evaluate_rules(tables(office + spread), [by_asn], NOW, Memory())) == []
    more = [*spread, row(timedelta(minutes=2), LOCK, "FAILURE", "w@acme.com", "12.1.0.9", None,
                         7018)]  # fmt: skip
    (alert,) = evaluate_rules(tables(office + more), [by_asn], NOW, Memory()).firing
    assert (alert.key, alert.value) == ("7018 / digitalocean, llc", 5)
    assert "from 6 IP addresses" in alert.notes  # the office IP is among the rows, not counted
    assert any("30 of 35 events from the org's known networks" in n for n in alert.notes)


# -- absence that follows the baseline -------------------------------------------------------

ABSENT = {"id": "quiet", "view": "events", "kind": "absence", "window": "2h",
          "active_hours": "08:00-18:00", "active_days": "mon-fri", "baseline": "7d"}  # fmt: skip


def busy_days(per_hour: int, silent_from: timedelta) -> list[tuple[Any, ...]]:
    """``per_hour`` sign-ins in every working hour of the 8 days before, until ``silent_from``."""
    out = []
    for minute in range(int(timedelta(days=8) / timedelta(minutes=1))):
        ago = timedelta(minutes=minute)
        when = NOW - ago
        working = when.weekday() < 5 and 8 <= when.hour < 18
        if ago >= silent_from and working and minute % max(1, 60 // per_hour) == 0:
            out.append(row(ago, "user.session.start", "SUCCESS", "a@acme.com", "1.2.3.4"))
    return out


def test_an_absence_window_follows_the_quietest_working_hour() -> None:
    (rule,) = rules(ABSENT)
    assert isinstance(rule, AbsenceRule)
    con = tables(busy_days(20, timedelta(minutes=25)))
    window, why = absence_window(con, rule, NOW)
    assert timedelta(minutes=15) <= window <= timedelta(minutes=25)
    assert why == "the quietest active hour in the 7d before had 20 events"
    (alert,) = evaluate_rules(con, [rule], NOW, Memory()).firing
    assert alert.end - alert.start == window
    assert any(n.startswith("last event 2026-11-30 11:3") for n in alert.notes)
    quiet = tables(busy_days(2, timedelta(minutes=25)))  # sparse: two silent hours are normal
    assert absence_window(quiet, rule, NOW)[0] == timedelta(hours=2)
    assert evaluate_rules(quiet, [rule], NOW, Memory()).firing == ()


# -- inhibition and an alert's life ----------------------------------------------------------

SURGE = {"id": "surge", "view": "lockouts", "kind": "threshold", "window": "15m", "threshold": 10,
         "inhibit": ["per-user"], "severity": "high"}  # fmt: skip
PER_USER = {"id": "per-user", "view": "lockouts", "kind": "threshold", "window": "2h",
            "threshold": 2, "group_by": ["actor_alternate_id"]}  # fmt: skip


def test_an_org_wide_alert_holds_back_per_user_alerts_of_the_same_time() -> None:
    storm = locks(12, "12.153.224.7") + locks(1, "12.153.224.7", ago=timedelta(minutes=50))
    evaluation = evaluate_rules(tables(storm), rules(SURGE, PER_USER), NOW, Memory())
    assert [a.rule.id for a in evaluation.firing] == ["surge"]
    assert [(a.rule.id, a.reason) for a in evaluation.suppressed] == [
        ("per-user", "inhibited by surge")
    ]
    later = evaluate_rules(tables(storm), rules(SURGE, PER_USER), NOW + timedelta(minutes=20),
                           Memory())  # fmt: skip
    assert [a.rule.id for a in later.firing] == ["per-user"]


def test_inhibit_names_existing_rules() -> None:
    with pytest.raises(Exception, match="field 'inhibit': no rule 'nope'"):
        rules({**SURGE, "inhibit": ["nope"]})


def test_an_alert_that_keeps_firing_carries_peak_total_and_its_final_figures(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    (surge,) = rules({**SURGE, "inhibit": [], "cooldown": "20m"})
    wave = [row(timedelta(minutes=m), LOCK, "FAILURE", f"w{m}-{i}@acme.com", "9.9.9.9")
            for m in range(0, 45) for i in range(2)]  # 2 a minute for 45 minutes  # fmt: skip
    con = tables(wave)
    checks = [
        NOW - timedelta(minutes=30),
        NOW - timedelta(minutes=15),
        NOW,
        NOW + timedelta(hours=1),
    ]
    seen = []
    for when in checks:
        with open_state(settings) as state:
            evaluation = evaluate_rules(con, [surge], when, state.memory())
            state.record(evaluation)
        seen.append(evaluation)
    first, repeat = seen[0].firing[0], seen[2].firing[0]
    assert (first.count, first.total, first.since) == (28, 28, None)
    assert [a.reason for a in seen[1].suppressed] == ["cooldown"]
    assert repeat.since == NOW - timedelta(minutes=30) and repeat.peak == 30
    assert repeat.total == 88  # every lockout since the window that opened it
    (gone,) = seen[3].resolved
    assert (gone.peak, gone.total, gone.start) == (
        30,
        90,
        NOW - timedelta(minutes=30),
    )  # all 45 min
    with open_state(settings) as state:
        assert state.open_alerts() == []


def test_an_old_state_file_gains_the_new_columns(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    old = duckdb.connect(str(settings.state_path))
    old.execute(
        "CREATE TABLE alerts (rule_id VARCHAR, key VARCHAR, title VARCHAR, severity VARCHAR, "
        "status VARCHAR, labels JSON, count BIGINT, normal DOUBLE, opened_at TIMESTAMPTZ, "
        "last_seen_at TIMESTAMPTZ, last_alerted_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, "
        "PRIMARY KEY (rule_id, key))"
    )
    old.execute("INSERT INTO alerts VALUES ('surge', '', 't', 'high', 'open', '[]', 12, NULL, "
                "?, ?, ?, NULL)", [NOW, NOW, NOW])  # fmt: skip
    old.close()
    with open_state(settings) as state:
        (known,) = state.memory().alerts.values()
        assert (known.open, known.peak) == (True, 12)


def test_an_alert_held_back_stays_part_of_that_incident(tmp_path: Path) -> None:
    storm = locks(12, "12.153.224.7") + locks(1, "12.153.224.7", ago=timedelta(minutes=50))
    con, both = tables(storm), rules(SURGE, PER_USER)
    with open_state(make_settings(tmp_path)) as state:
        seen = []
        for when in (NOW, NOW + timedelta(minutes=20), NOW + timedelta(hours=2)):
            evaluation = evaluate_rules(con, both, when, state.memory())
            state.record(evaluation)
            seen.append(evaluation)
    assert [(a.rule.id, a.reason) for a in seen[1].suppressed] == [
        ("per-user", "inhibited by surge")  # the surge has cleared; u0's alert is still its story
    ]
    assert seen[1].firing == ()
    assert [(a.rule.id, a.announce) for a in seen[2].resolved] == [("per-user", False)]
