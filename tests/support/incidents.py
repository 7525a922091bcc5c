"""Incidents on top of the org's ordinary days (:mod:`tests.support.everyday`), each starting at
a given time and built the way the attack or the outage unfolds, not to suit a rule.

- ``spray_one_ip``: one hosting address tries two common passwords on 60 accounts over 40
  minutes; the accounts whose holders had just mistyped theirs (about one in seven) lock.
- ``spray_over_asn``: the same spray spread over 40 addresses of one hosting network, two or
  three accounts each, so that no address stands out.
- ``storm_in_the_office``: a broken password sync locks 60 people in the Austin office out
  within half an hour, all behind the office's one NAT address.
- ``provisioning_outage``: Salesforce's API credentials expire: for an hour every push fails and
  Okta's integration reports authentication failures.
- ``new_reason``: Zoom starts refusing one attribute: a reason never seen before, once.
- ``slow_degradation``: Slack's SCIM endpoint throttles: for eight hours about two pushes an
  hour fail (its normal is one every few days), never ten in an hour.
- ``service_account_loop``: a service account's password was rotated but a job still uses the
  old one: it locks, Okta unlocks it an hour later, the job locks it again.

The silence of a stopped hook is the ordinary events cut at a time (tests/test_detection.py).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.support.orgdata import (
    APPS,
    LOCKOUT_AFTER,
    SCRIPT,
    Agent,
    Event,
    Net,
    Org,
    app_error,
    lockout,
    provision,
    sign_in,
    unlock,
)

ATTACKER = Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/118.0", "Windows 10", "CHROME")
DIGITALOCEAN = (14061, "digitalocean, llc")
M247 = (9009, "m247 europe srl")
SALESFORCE, ZOOM, SLACK = (next(a for a in APPS if a[0] == n)
                           for n in ("Salesforce.com", "Zoom", "Slack"))  # fmt: skip


def _spray(org: Org, rng: random.Random, start: datetime, nets: list[Net]) -> list[Event]:
    """Two passwords on each of 60 accounts, evenly over 40 minutes, one address per few
    accounts; an account whose holder had mistyped it recently locks on the second."""
    events: list[Event] = []
    victims = rng.sample(org.people, 60)
    for rounds in range(2):
        for n, victim in enumerate(victims):
            when = start + timedelta(minutes=20 * rounds + n / 3, seconds=rng.uniform(0, 15))
            net = nets[n % len(nets)]
            events.append(sign_in(org, when, victim, net, ATTACKER, "INVALID_CREDENTIALS"))
            if rounds == 1 and n % 7 == 3:  # 3 earlier mistakes + these 2 reach the lockout
                events.append(lockout(org, when + timedelta(seconds=1), victim, net, ATTACKER))
    return events


def spray_one_ip(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    net = Net("178.62.93.10", *DIGITALOCEAN, "Netherlands")
    return _spray(org, rng, start, [net])


def spray_over_asn(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    nets = [Net(f"185.156.{46 + i // 200}.{i % 200 + 10}", *M247, "Romania") for i in range(40)]
    return _spray(org, rng, start, nets)


def storm_in_the_office(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    people = [p for p in org.people if p.office.zone == "Office Austin"]
    events: list[Event] = []
    for who in rng.sample(people, 60):
        when = start + timedelta(minutes=rng.uniform(0, 30))
        for _ in range(LOCKOUT_AFTER):
            events.append(sign_in(org, when, who, who.office, who.desktop, "INVALID_CREDENTIALS"))
            when += timedelta(seconds=rng.uniform(5, 20))
        events.append(lockout(org, when, who, who.office, who.desktop))
        events.append(unlock(org, when + timedelta(minutes=60), who, by_self=False))
    return events


def provisioning_outage(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    reason = "The credentials used to connect to the API were invalid; please check your " \
        "configuration"  # fmt: skip
    events = []
    for minute in range(0, 60, 2):
        when = start + timedelta(minutes=minute, seconds=rng.uniform(0, 60))
        who = rng.choice(org.people)
        text = f"Automatic provisioning of user {who.name} to app Salesforce.com failed: {reason}"
        events.append(provision(org, when, SALESFORCE, who, text))
        if minute % 10 == 0:
            events.append(
                app_error(
                    org, when, SALESFORCE, "application.integration.authentication_failure", reason
                )
            )
    return events


def new_reason(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    who = rng.choice(org.people)
    text = (f"Automatic provisioning of user {who.name} to app Zoom failed: Error while creating "
            f"user {who.login}: Bad Request. Errors reported by remote server: Invalid field "
            "value 'pmi' for license type Basic")  # fmt: skip
    return [provision(org, start + timedelta(minutes=3), ZOOM, who, text)]


def slow_degradation(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    events = []
    for hour in range(8):
        for _ in range(2):
            who = rng.choice(org.people)
            when = start + timedelta(hours=hour, minutes=rng.uniform(0, 60))
            text = (f"Automatic profile push of user {who.name} to app Slack failed: Error while "
                    f"updating user {who.login}: Too Many Requests. Errors reported by remote "
                    "server: rate limited, retry later")  # fmt: skip
            events.append(provision(org, when, SLACK, who, text,
                                    "application.provision.user.push_profile"))  # fmt: skip
    return events


def service_account_loop(org: Org, rng: random.Random, start: datetime) -> list[Event]:
    svc = org.services[0]
    events: list[Event] = []
    when = start
    for _ in range(4):
        for _ in range(LOCKOUT_AFTER):
            events.append(sign_in(org, when, svc, svc.office, SCRIPT, "INVALID_CREDENTIALS"))
            when += timedelta(seconds=rng.uniform(1, 3))
        events.append(lockout(org, when, svc, svc.office, SCRIPT))
        when += timedelta(minutes=60)
        events.append(unlock(org, when, svc, by_self=False))
        when += timedelta(minutes=rng.uniform(2, 6))  # the job's next run
    return events
