"""Detection scenarios: the shipped rules replayed every 15 minutes, as a scheduler would check
them, over a generated 2,000-user org (tests/support/orgdata.py, everyday.py) with one incident
each (tests/support/incidents.py): what fires, how soon, and what the digest names. The quiet
week fires nothing above info.

The org's three weeks are generated and extracted once per session (about ten seconds); each
scenario adds its incident's events and replays a few hours; the quiet week replays 672 checks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from okta_alerts.alerts.rules import load_rules
from okta_alerts.config import SHIPPED_RULES
from tests.support import incidents
from tests.support.everyday import everyday
from tests.support.orgdata import END, QUIET, START, Event, Org, build_org
from tests.support.replay import Check, connection, extracted, first_firing, replay

pytestmark = pytest.mark.slow
SEED = 11
TUESDAY = QUIET + timedelta(days=1)  # the incidents happen on the quiet week's Tuesday
Incident = Callable[[Org, random.Random, datetime], list[Event]]


class World:
    """The org, its ordinary events and their extracted rows."""

    def __init__(self) -> None:
        rng = random.Random(SEED)
        self.org = build_org(rng)
        self.events = everyday(self.org, rng, START, END)
        self.rows = extracted(self.events)
        self.rules = load_rules(SHIPPED_RULES)

    def run(self, incident: Incident, start: datetime, hours: float, tmp: Path) -> list[Check]:
        """Replay the shipped rules from an hour before ``start`` for ``hours`` after it."""
        added = incident(self.org, random.Random(SEED + 1), start)
        con = connection(self.rows, extracted(added)) if added else connection(self.rows)
        begin = start - timedelta(hours=1)
        return replay(con, self.rules, begin, start + timedelta(hours=hours), tmp / "state.duckdb")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    yield World()


def fired(checks: list[Check], rule_id: str, start: datetime) -> tuple[timedelta, Check, str]:
    """How long after ``start`` ``rule_id`` first fired, that check, and its severity."""
    found = first_firing(checks, rule_id)
    assert found is not None, f"{rule_id} never fired; fired: {firing_ids(checks)}"
    check, alert = found
    return check.now - start, check, alert.level


def firing_ids(checks: list[Check]) -> set[str]:
    return {a.rule.id for c in checks for a in c.evaluation.firing}


def levels(checks: list[Check], rule_id: str) -> set[str]:
    return {a.level for c in checks for a in c.evaluation.firing if a.rule.id == rule_id}


def test_spray_from_one_ip(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=14, minutes=5)
    checks = world.run(incidents.spray_one_ip, start, 2, tmp_path)
    took, check, level = fired(checks, "sign-in-spray", start)
    assert took <= timedelta(minutes=15) and level == "high"
    assert check.digest is not None and "178.62.93.10" in check.digest.body
    assert "no successful sign-in from it" in check.digest.body
    took, check, level = fired(checks, "password-spray", start)
    assert took <= timedelta(minutes=45) and level == "critical"
    assert "digitalocean" in str(check.digest and check.digest.body)


def test_spray_over_one_network(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=14, minutes=5)
    checks = world.run(incidents.spray_over_asn, start, 2, tmp_path)
    took, check, level = fired(checks, "sign-in-spray-network", start)
    assert took <= timedelta(minutes=15) and level == "high"
    assert check.digest is not None and "9009 / m247 europe srl" in check.digest.body
    assert "from 40 IP addresses" in check.digest.body or "IP addresses" in check.digest.body
    took, _, _ = fired(checks, "password-spray-network", start)
    assert took <= timedelta(minutes=45)
    assert "sign-in-spray" not in firing_ids(checks)  # no single address stands out
    assert "password-spray" not in firing_ids(checks)


def test_lockout_storm_in_the_office(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=15, minutes=5)  # 09:05 in Austin
    checks = world.run(incidents.storm_in_the_office, start, 2, tmp_path)
    took, check, level = fired(checks, "lockout-surge", start)
    assert took <= timedelta(minutes=15) and level == "high"
    assert check.digest is not None and "at&t services" in check.digest.body
    assert levels(checks, "password-spray") == {"info"}  # the office's NAT, named as such
    assert "known network (zone Office Austin" in "".join(c.digest.body for c in checks if c.digest)
    assert "password-spray-network" not in firing_ids(checks)
    assert levels(checks, "sign-in-spray") <= {"info"}
    suppressed = {a.reason for c in checks for a in c.evaluation.suppressed}
    assert not {"repeated-lockouts", "lockout-loop"} & firing_ids(checks)
    assert suppressed <= {"cooldown", "inhibited by lockout-surge", "inhibited by lockout-spike",
                          "inhibited by password-spray", "silenced"}  # fmt: skip


def test_provisioning_outage(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=13, minutes=5)
    checks = world.run(incidents.provisioning_outage, start, 3, tmp_path)
    took, check, level = fired(checks, "assignment-errors-surge", start)
    assert took <= timedelta(minutes=30) and level == "high"
    assert check.digest is not None and "Salesforce.com" in check.digest.body
    assert "The credentials used to connect to the API were invalid" in check.digest.body
    took, _, _ = fired(checks, "new-assignment-error", start)
    assert took <= timedelta(minutes=15)
    assert "assignment-errors-rate" not in firing_ids(checks)  # held while the surge fires
    resolved = [a for c in checks for a in c.evaluation.resolved
                if a.rule.id == "assignment-errors-surge"]  # fmt: skip
    assert resolved and resolved[0].total is not None and resolved[0].total >= 30


def test_new_reason(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=16, minutes=5)
    checks = world.run(incidents.new_reason, start, 1, tmp_path)
    took, check, level = fired(checks, "new-assignment-error", start)
    assert took <= timedelta(minutes=15) and level == "warning"
    assert check.digest is not None and "Invalid field value 'pmi'" in check.digest.body
    assert firing_ids(checks) - {"lockout-non-browser"} == {"new-assignment-error"}


def test_slow_degradation(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=9, minutes=5)
    checks = world.run(incidents.slow_degradation, start, 9, tmp_path)
    took, check, level = fired(checks, "assignment-errors-rate", start)
    assert took <= timedelta(hours=6) and level == "warning"
    assert check.digest is not None and "Slack" in check.digest.body
    assert "assignment-errors-surge" not in firing_ids(checks)  # never ten in an hour


def test_service_account_locked_again_and_again(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=2, minutes=5)
    checks = world.run(incidents.service_account_loop, start, 5, tmp_path)
    took, _, level = fired(checks, "lockout-non-browser", start)
    assert took <= timedelta(minutes=15) and level == "info"
    took, check, level = fired(checks, "lockout-loop", start)
    assert took <= timedelta(minutes=90) and level == "warning"
    assert check.digest is not None and "svc-reports@acme.com" in check.digest.body
    assert "python-requests" in check.digest.body
    assert "repeated-lockouts" not in firing_ids(checks)  # held: one story


def test_silence_during_business_hours(world: World, tmp_path: Path) -> None:
    start = TUESDAY + timedelta(hours=10)  # the hook stops delivering
    con = connection(world.rows.filter(pc.less(world.rows["published"], pa.scalar(start))))
    checks = replay(con, world.rules, start - timedelta(hours=1), start + timedelta(hours=2),
                    tmp_path / "state.duckdb")  # fmt: skip
    took, check, level = fired(checks, "no-events", start)
    assert took <= timedelta(minutes=30) and level == "critical"
    assert check.digest is not None and "last event 2026-11-17 09:59 UTC" in check.digest.body


@pytest.mark.timeout(300)  # 672 checks of every shipped rule: about a minute on 2 quiet cores
def test_the_quiet_week_fires_nothing_above_info(world: World, tmp_path: Path) -> None:
    checks = replay(connection(world.rows), world.rules, QUIET, END, tmp_path / "state.duckdb")
    assert len(checks) == 7 * 24 * 4
    loud = [(c.now, a.rule.id, a.key, a.level) for c in checks for a in c.evaluation.firing
            if a.level != "info"]  # fmt: skip
    assert loud == []
