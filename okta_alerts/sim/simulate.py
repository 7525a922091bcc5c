"""Simulated Okta traffic: background activity plus named scenarios, and hook deliveries of it.

Everything is deterministic from a seed. :func:`generate_events` yields LogEvents in published
order; :func:`batch_deliveries` wraps them in event-hook envelopes the way Okta batches and
re-sends them; :func:`okta_alerts.hookclient.post_deliveries` sends those to a receiver.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from okta_alerts.errors import OktaAlertsError
from okta_alerts.okta.delivery import Batch, HookEnvelope, hook_envelope
from okta_alerts.sim.hookclient import PostResult, post_deliveries
from okta_alerts.sim.logevents import Event, LogEventFactory
from okta_alerts.sim.population import ATTACK_AGENTS, Network, Population
from okta_alerts.sim.traffic import HOUR, MINUTE, Traffic

__all__ = [
    "SCENARIOS",
    "PostResult",
    "Scenario",
    "batch_deliveries",
    "event_batches",
    "generate_events",
    "post_deliveries",
]

# Relative sign-in activity per UTC hour on a weekday; weekends run at WEEKEND of that.
WEEKDAY = (
    0.25, 0.2, 0.2, 0.2, 0.25, 0.35, 0.6, 1.0, 1.6, 1.9, 1.9, 1.8,
    1.6, 1.7, 1.8, 1.8, 1.6, 1.3, 0.9, 0.6, 0.45, 0.35, 0.3, 0.25,
)  # fmt: skip
WEEKEND = 0.3
# Background is drawn and drained in windows of about this many events (short-lived events keep
# the garbage collector and CPU caches happy), at most 5 minutes and at least 0.2 s long.
WINDOW_EVENTS = 150
OUTAGE_REASONS = (
    "Error creating a new user: API rate limit exceeded",
    "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named situation: a one-line description, a burst to inject, a background rate factor."""

    description: str
    inject: Callable[[Traffic], None] | None = None
    rate_factor: float = 1.0


def _burst_start(traffic: Traffic, duration_ms: int) -> tuple[int, int]:
    """(start, length) of a burst ending 1-3 h before the end of the range, or earlier."""
    span = traffic.end_ms - traffic.start_ms
    duration = min(duration_ms, int(span * 0.8))
    lead = traffic.rng.randint(HOUR, 3 * HOUR)
    return traffic.end_ms - duration - min(span - duration, lead), duration


def _lockout_storm(traffic: Traffic) -> None:
    rng = traffic.rng
    begin, duration = _burst_start(traffic, 30 * MINUTE)
    victims = rng.sample(traffic.pop.users, min(len(traffic.pop.users), rng.randint(25, 40)))
    for user in victims:
        ts = begin + int(rng.random() * duration * 0.9)
        traffic.lockout(ts, user, traffic.where(user), failures=rng.randint(2, 4), admin_unlock=0.4)


def _password_spray(traffic: Traffic) -> None:
    rng = traffic.rng
    begin, duration = _burst_start(traffic, 12 * MINUTE)
    base = rng.choice(traffic.pop.hostile)
    prefix = base.ip.rsplit(".", 1)[0]
    others = [_with_ip(base, f"{prefix}.{rng.randint(2, 250)}") for _ in range(rng.randint(1, 2))]
    agent = rng.choice(ATTACK_AGENTS)
    users = traffic.pop.users
    targets = rng.sample(users, min(len(users), rng.randint(40, 80)))
    locked = targets[: rng.randint(5, 8)]
    for user in targets:
        ts = begin + int(rng.random() * duration * 0.8)
        if user in locked:
            traffic.lockout(ts, user, (base, agent), failures=3, threat=True, admin_unlock=0.7)
        else:
            net = base if rng.random() < 0.8 else rng.choice(others)
            traffic.failures(ts, user, (net, agent), 1, threat=True)


def _provisioning_outage(traffic: Traffic) -> None:
    rng = traffic.rng
    app = next(a for a in traffic.pop.apps if a.label == "Salesforce.com")
    begin, duration = _burst_start(traffic, HOUR)
    users = traffic.pop.users
    for user in rng.sample(users, min(len(users), rng.randint(40, 70))):
        ts = begin + int(rng.random() * duration * 0.9)
        reason = OUTAGE_REASONS[0] if rng.random() < 0.75 else OUTAGE_REASONS[1]
        kind = "push" if rng.random() < 0.75 else "sync"
        traffic.provision(ts, f"application.provision.user.{kind}", user, app, reason=reason)
    for _ in range(rng.randint(3, 6)):
        traffic.app_error(begin + int(rng.random() * duration), app, rate_limit=True)


def _with_ip(net: Network, ip: str) -> Network:
    return Network(ip, net.asn, net.as_org, net.isp, net.domain, net.is_proxy, net.zone, net.place)


SCENARIOS: dict[str, Scenario] = {
    "lockout-storm": Scenario(
        "25-40 users locked out within 30 minutes, from varied IPs",
        _lockout_storm,
    ),
    "password-spray": Scenario(
        "a hosting IP fails sign-ins for 40-80 users in minutes; 5-8 locked",
        _password_spray,
    ),
    "provisioning-outage": Scenario(
        "Salesforce.com provisioning fails for 40-70 users for an hour",
        _provisioning_outage,
    ),
    "quiet": Scenario("background traffic only, at a quarter of the rate", None, 0.25),
}


def generate_events(
    seed: int,
    start: datetime,
    end: datetime,
    scenarios: Sequence[str] = (),
    rate_per_hour: float = 200.0,
    users: int = 500,
) -> Iterator[Event]:
    """LogEvents published in [start, end), oldest first; naive times are taken as UTC."""
    unknown = [name for name in scenarios if name not in SCENARIOS]
    if unknown:
        raise OktaAlertsError(
            f"unknown scenario {unknown[0]!r}; choose from: {', '.join(SCENARIOS)}"
        )
    start_ms, end_ms = _epoch_ms(start), _epoch_ms(end)
    if end_ms <= start_ms:
        raise OktaAlertsError(f"the end ({end.isoformat()}) must be after the start")
    if rate_per_hour < 0 or users < 1:
        raise OktaAlertsError("the rate must be >= 0 and there must be at least one user")
    return _timeline(seed, start_ms, end_ms, tuple(dict.fromkeys(scenarios)), rate_per_hour, users)


def _timeline(
    seed: int, start_ms: int, end_ms: int, scenarios: tuple[str, ...], rate: float, users: int
) -> Iterator[Event]:
    rng = random.Random(seed)
    traffic = Traffic(Population.build(rng, users), LogEventFactory(rng), start_ms, end_ms)
    for name in scenarios:
        scenario = SCENARIOS[name]
        rate *= scenario.rate_factor
        if scenario.inject:
            scenario.inject(traffic.fork(random.Random(f"{seed}:{name}")))
    week_mean = sum(WEEKDAY) * (5 + 2 * WEEKEND) / (7 * 24)
    window = max(200, min(5 * MINUTE, int(HOUR * WINDOW_EVENTS / max(rate, 1.0))))
    at = start_ms
    while at < end_ms:
        until = min(at + window - at % window, end_ms)
        mid = datetime.fromtimestamp((at + until) / 2000, UTC)
        weight = WEEKDAY[mid.hour] * (WEEKEND if mid.weekday() >= 5 else 1.0) / week_mean
        expected = rate * weight * (until - at) / HOUR
        traffic.background(at, until, _poisson(rng, expected))
        yield from traffic.drain(until)
        at = until
    yield from traffic.drain(end_ms)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _epoch_ms(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def batch_deliveries(
    events: Iterable[Event], seed: int, max_batch: int = 50, duplicate_rate: float = 0.0
) -> Iterator[HookEnvelope]:
    """Event-hook envelopes of 1..max_batch events; ``duplicate_rate`` of them are re-sent later."""
    if max_batch < 1 or not 0.0 <= duplicate_rate <= 1.0:
        raise OktaAlertsError("max_batch must be >= 1 and duplicate_rate between 0 and 1")
    rng = random.Random(f"{seed}:deliveries")
    ids = LogEventFactory(rng)
    source = f"{ids.origin}/api/v1/eventHooks/{ids.okta_id('who')}"
    resend: list[tuple[int, HookEnvelope]] = []
    sent = 0
    iterator = iter(events)
    while True:
        size = min(max_batch, 1 + int(rng.expovariate(3.0 / max_batch)))
        chunk = [event for _, event in zip(range(size), iterator, strict=False)]
        if not chunk:
            break
        last = datetime.fromisoformat(chunk[-1]["published"])
        sent_at = last + timedelta(milliseconds=rng.randint(300, 4_000))
        sent_ms = int(sent_at.timestamp() * 1000)
        envelope = hook_envelope(chunk, ids.uuid(), source, ids.published(sent_ms))
        yield envelope
        sent += 1
        if duplicate_rate and rng.random() < duplicate_rate:
            resend.append((sent + rng.randint(1, 20), envelope))
            resend.sort(key=lambda item: item[0])
        while resend and resend[0][0] <= sent:
            yield resend.pop(0)[1].copy()
    for _, envelope in resend:
        yield envelope.copy()


def event_batches(events: Iterable[Event], size: int = 2000) -> Iterator[Batch]:
    """Group events into store :class:`~okta_alerts.events.Batch` es of ``size``."""
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield Batch(None, chunk)
            chunk = []
    if chunk:
        yield Batch(None, chunk)
