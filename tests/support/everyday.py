"""The org's ordinary days (see :mod:`tests.support.orgdata`): what a quiet week looks like.

Rates, per person and working day unless said otherwise: 92% at work (55% of them in the
office), one sign-in in the first two working hours and a Poisson(1) more, a phone sign-in in
30%; before a sign-in, a mistyped password in 7% (two in 1%), a mistyped user name in 1%, a
forgotten password that ends in a lockout in 0.35% (unlocked by the user within 20 minutes in 60%
of cases, else by Okta after an hour; locked again in 3%); people with a mail client (4%) see it
lock them out with an old password on 2% of days. Weekends: 12% sign in once. Service accounts
sign in every hour; internet bots try Poisson(20) names a day from hosting networks. Provisioning:
about 120 steps a working day in the London and Austin admins' hours, failing at each app's rate
with the everyday reasons, a Poisson(0.9) app-level integration errors a day, and on a quarter
of working days a group of 30-60 people assigned to one app at once.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from tests.support.orgdata import (
    EVERYDAY_REASONS,
    HOSTING,
    LOCKOUT_AFTER,
    MAIL,
    MOBILE,
    Agent,
    Event,
    Net,
    Org,
    Person,
    app_error,
    iso,
    lockout,
    provision,
    sign_in,
    unlock,
)

MINUTE = timedelta(minutes=1)
BOT_NAMES = ("admin", "test", "info", "support", "administrator", "user", "sales", "root")
O365_TEMPLATE = (
    "Could not push profile for Office 365 user received error: Received response with HTTP "
    'status code 400. httpStatusCode=400 errorCode=Request_BadRequest errorMessage="Unable to '
    'update the specified properties for on-premises mastered Directory Sync objects." '
    "client-request-id={r1} request-id={r2} timestamp='{stamp}' method=PATCH "
    "url=https://graph.microsoft.com/v1.0/users/{r3}"
)


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: small means only."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def everyday(org: Org, rng: random.Random, start: datetime, end: datetime) -> list[Event]:
    """Every ordinary event in ``[start, end)``, oldest first."""
    events: list[Event] = []
    days = (end - start).days + 2
    for number in range(-1, days):
        day = start + timedelta(days=number)
        for person in org.people:
            events += _person_day(org, rng, person, day)
        events += _services(org, day) + _bots(org, rng, day)
        if day.weekday() < 5:
            events += _provisioning(org, rng, day)
    first, last = iso(start), iso(end)
    return sorted((e for e in events if first <= e["published"] < last), key=_published)


def _published(event: Event) -> str:
    return str(event["published"])  # Okta's fixed-width UTC text sorts as time does


def _person_day(org: Org, rng: random.Random, who: Person, day: datetime) -> list[Event]:
    local = day - timedelta(hours=who.utc_offset)  # local midnight of ``day``, in UTC
    if day.weekday() >= 5:
        if rng.random() < 0.12:
            return attempt(org, rng, local + timedelta(hours=rng.uniform(9, 21)), who, who.home,
                           MOBILE)  # fmt: skip
        return []
    if rng.random() >= 0.92:
        return []
    net = who.office if rng.random() < 0.55 else who.home
    times = [rng.uniform(8, 10)] + [rng.uniform(9, 18) for _ in range(poisson(rng, 1))]
    events = []
    for hours in times:
        events += attempt(org, rng, local + timedelta(hours=hours), who, net, who.desktop)
    if rng.random() < 0.3:
        events += attempt(org, rng, local + timedelta(hours=rng.uniform(7, 22)), who, who.phone,
                          MOBILE)  # fmt: skip
    if who.mail_client and rng.random() < 0.02:
        when = local + timedelta(hours=rng.uniform(8, 18))
        events += locked_out(org, rng, when, who, net, MAIL, relock=0.0, self_unlock=0.0)
    return events


def attempt(org: Org, rng: random.Random, when: datetime, who: Person, net: Net,
            agent: Agent) -> list[Event]:  # fmt: skip
    """A sign-in, with the mistakes people make first."""
    roll = rng.random()
    if roll < 0.0035:
        return locked_out(org, rng, when, who, net, agent, relock=0.03, self_unlock=0.6)
    events = []
    if roll < 0.0135:
        typed = who.login.replace("@", "@@") if rng.random() < 0.5 else who.login.split("@")[0]
        events.append(sign_in(org, when, who, net, agent, "VERIFICATION_ERROR", typed))
        when += timedelta(seconds=rng.uniform(15, 60))
    elif roll < 0.0935:
        wrong = 2 if roll < 0.0235 else 1
        for _ in range(wrong):
            events.append(sign_in(org, when, who, net, agent, "INVALID_CREDENTIALS"))
            when += timedelta(seconds=rng.uniform(10, 40))
    return [*events, sign_in(org, when, who, net, agent)]


def locked_out(org: Org, rng: random.Random, when: datetime, who: Person, net: Net, agent: Agent,
               relock: float, self_unlock: float) -> list[Event]:  # fmt: skip
    """Failed sign-ins up to the lockout, the lockout, its unlock, and maybe it again."""
    events = []
    for _ in range(LOCKOUT_AFTER):
        events.append(sign_in(org, when, who, net, agent, "INVALID_CREDENTIALS"))
        when += timedelta(seconds=rng.uniform(10, 40))
    events.append(lockout(org, when, who, net, agent))
    by_self = rng.random() < self_unlock
    when += MINUTE * (rng.uniform(5, 20) if by_self else 60)
    events.append(unlock(org, when, who, by_self))
    if rng.random() < relock:
        return events + locked_out(org, rng, when + MINUTE * rng.uniform(1, 30), who, net, agent,
                                   0.0, self_unlock)  # fmt: skip
    return [*events, sign_in(org, when + MINUTE, who, net, agent)]


def _services(org: Org, day: datetime) -> list[Event]:
    return [
        sign_in(org, day + timedelta(hours=h, minutes=7 * n % 60), svc, svc.office, svc.desktop)
        for n, svc in enumerate(org.services)
        for h in range(24)
    ]


def _bots(org: Org, rng: random.Random, day: datetime) -> list[Event]:
    events = []
    for _ in range(poisson(rng, 20)):
        asn, as_org, prefix = rng.choice(HOSTING)
        net = Net(f"{prefix}.{rng.randint(1, 254)}.{rng.randint(1, 254)}", asn, as_org, "Unknown")
        when = day + timedelta(seconds=rng.uniform(0, 86400))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.7:
                name = rng.choice(BOT_NAMES) + rng.choice(("", "@acme.com"))
                events.append(sign_in(org, when, org.people[0], net, BOT, "VERIFICATION_ERROR",
                                      name))  # fmt: skip
            else:
                victim = rng.choice(org.people)
                events.append(sign_in(org, when, victim, net, BOT, "INVALID_CREDENTIALS"))
            when += timedelta(seconds=rng.uniform(1, 30))
    return events


BOT = Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/99.0", "Windows 10", "CHROME")


def failure_reason(rng: random.Random, app: tuple[str, str, str, int, float], who: Person) -> str:
    """An everyday provisioning error for ``who`` in ``app``."""
    weights = [w for w, _ in EVERYDAY_REASONS]
    template = rng.choices([t for _, t in EVERYDAY_REASONS], weights)[0]
    return template.format(name=who.name, login=who.login, app=app[0])


def _provisioning(org: Org, rng: random.Random, day: datetime) -> list[Event]:
    events = []
    apps, weights = org.apps, [a[3] for a in org.apps]
    kinds = ("application.provision.user.push", "application.provision.user.push_profile",
             "application.provision.user.deactivate")  # fmt: skip
    for _ in range(poisson(rng, 120)):
        app, who = rng.choices(apps, weights)[0], rng.choice(org.people)
        when = day + timedelta(hours=rng.uniform(9, 23))  # London's and Austin's office hours
        kind = rng.choices(kinds, (6, 3, 1))[0]
        events.append(_step(org, rng, when, app, who, kind, app[4]))
    for _ in range(poisson(rng, 0.9)):
        app = rng.choices(apps, weights)[0]
        kind, reason = rng.choice((
            ("application.integration.rate_limit_exceeded", "API rate limit exceeded"),
            ("application.integration.rate_limit_exceeded", "API rate limit exceeded"),
            ("application.integration.general_failure", "Unexpected response from the app: 502"),
        ))  # fmt: skip
        events.append(app_error(org, day + timedelta(hours=rng.uniform(0, 24)), app, kind, reason))
    if rng.random() < 0.25:
        app, when = rng.choices(apps, weights)[0], day + timedelta(hours=rng.uniform(9, 20))
        for who in rng.sample(org.people, rng.randint(30, 60)):
            when += timedelta(seconds=rng.uniform(2, 15))
            events.append(_step(org, rng, when, app, who, kinds[0], 0.08))
    return events


def _step(org: Org, rng: random.Random, when: datetime, app: tuple[str, str, str, int, float],
          who: Person, kind: str, failing: float) -> Event:  # fmt: skip
    if rng.random() >= failing:
        return provision(org, when, app, who, None, kind)
    if app[1] == "office365" and rng.random() < 0.5:
        ids = [f"{rng.getrandbits(128):032x}" for _ in range(3)]
        r1, r2, r3 = (f"{i[:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:]}" for i in ids)
        stamp = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
        reason = O365_TEMPLATE.format(r1=r1, r2=r2, r3=r3, stamp=stamp)
        return provision(org, when, app, who, reason, "app.office365.api.error.push.profile")
    return provision(org, when, app, who, failure_reason(rng, app, who), kind)
