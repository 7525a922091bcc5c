"""Everyday activity of a simulated org: sign-ins, lockouts, app assignment and provisioning.

A :class:`Traffic` pushes LogEvents into a heap ordered by ``published``; the simulator drains
it window by window. Episodes (a sign-in, a lockout and its unlock, an assignment and its push)
are its methods, so the scenarios in :mod:`okta_alerts.sim.simulate` reuse them.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from typing import Unpack

from okta_alerts.sim.logevents import (
    FACTOR,
    PASSWORD,
    Event,
    EventArgs,
    EventOptions,
    LogEventFactory,
    Where,
)
from okta_alerts.sim.population import LEGACY_AGENT, App, Population, User

MINUTE = 60_000
HOUR = 60 * MINUTE
BACKGROUND_REASONS = (
    "Matching user not found",
    "Error creating a new user: API rate limit exceeded",
    "User already exists in the app",
)
PROVISION_TEXT = {
    "application.provision.user.push": ("Push new user to external application", "push_new_user"),
    "application.provision.user.push_profile": (
        "Push user profile to external application",
        "push_profile_success",
    ),
    "application.provision.user.sync": ("Sync user to external application", "sync_user"),
    "application.provision.user.deactivate": (
        "Deactivate user in external application",
        "deactivate_user",
    ),
}
# Background episodes (Traffic methods taking a time and a user) and how often each starts.
EPISODES: tuple[tuple[str, float], ...] = (
    ("sign_in", 64),
    ("failed_sign_in", 10),
    ("assignment", 6),
    ("profile_push", 16),
    ("removal", 3),
    ("group_assignment", 1),
    ("integration_failure", 0.4),
)
# (published ms, tie-breaker, factory, LogEventFactory.event args, kwargs): built when drained
Queued = tuple[int, int, LogEventFactory, EventArgs, EventOptions]


class Traffic:
    """Episodes of one org between ``start_ms`` and ``end_ms``; events past the end are dropped."""

    def __init__(
        self,
        population: Population,
        factory: LogEventFactory,
        start_ms: int,
        end_ms: int,
        heap: list[Queued] | None = None,
        counter: Iterator[int] | None = None,
    ) -> None:
        self.pop = population
        self.make = factory
        self.rng = factory.rng
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.heap: list[Queued] = [] if heap is None else heap
        self._seq = itertools.count() if counter is None else counter

    def fork(self, rng: random.Random) -> Traffic:
        """The same org, heap and bounds driven by another ``rng`` (scenarios use their own)."""
        factory = LogEventFactory(rng, quirk_rate=self.make.quirk_rate)
        return Traffic(self.pop, factory, self.start_ms, self.end_ms, self.heap, self._seq)

    def drain(self, until_ms: int) -> Iterator[Event]:
        """Yield queued events published before ``until_ms``, oldest first."""
        heap, pop = self.heap, heapq.heappop
        while heap and heap[0][0] < until_ms:
            ts, _, make, args, kwargs = pop(heap)
            yield make.event(ts, *args, **kwargs)

    # background ----------------------------------------------------------------------------
    def background(self, start_ms: int, end_ms: int, count: int) -> None:
        """Queue episodes starting in [start_ms, end_ms) until about ``count`` events exist."""
        rng = self.rng
        users = self.pop.users
        episodes = [getattr(self, name) for name, _ in EPISODES]
        weights = list(itertools.accumulate(weight for _, weight in EPISODES))
        produced = 0
        while produced < count:
            ts = start_ms + int(rng.random() * (end_ms - start_ms))
            episode = rng.choices(episodes, cum_weights=weights)[0]
            produced += episode(ts, rng.choice(users))

    def where(self, user: User) -> Where:
        roll = self.rng.random()
        if roll < 0.55:
            return user.office, user.desktop
        if roll < 0.85:
            return user.home, user.desktop
        return user.home, user.mobile

    def sign_in(self, ts: int, user: User, where: Where | None = None) -> int:
        """A successful sign-in, usually followed by an MFA verification."""
        where = where or self.where(user)
        ref = self.make.user_ref
        self._at(
            ts,
            "user.session.start",
            ref(user),
            where,
            ("SUCCESS", None),
            "User login to Okta",
            "core.user_auth.login_success",
            credential=PASSWORD,
        )
        if self.rng.random() < 0.3:
            return 1
        ts += self.rng.randint(3_000, 25_000)
        if ts >= self.end_ms:
            return 1
        failed = self.rng.random() < 0.03
        self._at(
            ts,
            "user.authentication.auth_via_mfa",
            ref(user),
            where,
            ("FAILURE", "INVALID_CREDENTIALS") if failed else ("SUCCESS", None),
            "Authentication of user via MFA",
            "core.user.factor.attempt_fail" if failed else "core.user.factor.attempt_success",
            severity="WARN" if failed else "INFO",
            debug={"factor": "OKTA_VERIFY_PUSH", "requestUri": "/idp/idx/authenticators/poll"},
            credential=FACTOR,
        )
        return 2

    def failed_sign_in(self, ts: int, user: User) -> int:
        """Wrong passwords; rarely they end in a lockout, usually in a good sign-in."""
        where = self.where(user)
        rng = self.rng
        if rng.random() < 0.015:
            return self.lockout(ts, user, where, failures=rng.randint(3, 5))
        n, ts = self.failures(ts, user, where, rng.randint(1, 2))
        ts += rng.randint(20_000, 120_000)
        if rng.random() < 0.7 and ts < self.end_ms:
            n += self.sign_in(ts, user, where)
        return n

    def failures(
        self, ts: int, user: User, where: Where, count: int, threat: bool = False, gap: int = 30_000
    ) -> tuple[int, int]:
        """``count`` failed sign-ins up to ``gap`` ms apart: (events made, time of the last)."""
        made, last = 0, ts
        for _ in range(count):
            if ts >= self.end_ms:
                break
            last = ts
            reason = "INVALID_CREDENTIALS" if self.rng.random() < 0.92 else "VERIFICATION_ERROR"
            self._at(
                ts,
                "user.session.start",
                self.make.user_ref(user),
                where,
                ("FAILURE", reason),
                "User login to Okta",
                "core.user_auth.login_failed",
                severity="WARN",
                credential=PASSWORD,
                threat=threat,
            )
            made += 1
            ts += self.rng.randint(gap // 6, gap)
        return made, last

    def lockout(
        self,
        ts: int,
        user: User,
        where: Where,
        failures: int,
        threat: bool = False,
        admin_unlock: float = 0.3,
    ) -> int:
        """Failed sign-ins, ``user.account.lock``, maybe ``.lock.limit``, then an unlock."""
        rng = self.rng
        made, ts = self.failures(ts, user, where, failures, threat, gap=20_000)
        ts += rng.randint(500, 3_000)
        if ts >= self.end_ms:
            return made
        make = self.make
        self._at(
            ts,
            "user.account.lock",
            make.user_ref(user),
            where,
            ("FAILURE", "LOCKED_OUT"),
            "Max sign in attempts exceeded",
            "core.user_auth.account_locked",
            severity="WARN",
            credential=PASSWORD,
            threat=threat,
        )
        made += 1
        if rng.random() < 0.08:
            at = ts + rng.randint(MINUTE, 10 * MINUTE)
            made += self._at(
                at,
                "user.account.lock.limit",
                make.user_ref(user),
                (where[0], LEGACY_AGENT),
                ("FAILURE", "LOCKED_OUT"),
                "User account lockout limit reached",
                None,
                severity="WARN",
            )
        if rng.random() < admin_unlock:
            admin = rng.choice([a for a in self.pop.admins if a is not user] or self.pop.admins)
            at = ts + rng.randint(5 * MINUTE, 90 * MINUTE)
            made += self._at(
                at,
                "user.account.unlock_by_admin",
                make.user_ref(admin),
                (admin.office, admin.desktop),
                ("SUCCESS", None),
                "Unlock user account",
                "core.user.config.user_unlocked",
                target=[make.user_ref(user)],
            )
        elif rng.random() < 0.9:
            made += self._at(
                ts + 60 * MINUTE,
                "user.account.unlock",
                make.system(),
                None,
                ("SUCCESS", None),
                "Automatically unlock user account",
                "core.user.account.unlocked",
                target=[make.user_ref(user)],
            )
        return made

    # applications --------------------------------------------------------------------------
    def assignment(self, ts: int, user: User) -> int:
        """An admin assigns ``user`` an app; Okta pushes the new account."""
        app = self.pop.apps[self.rng.choice(user.apps)]
        made = self._admin_action(ts, "application.user_membership.add", user, app)
        at = ts + self.rng.randint(2_000, 40_000)
        return made + self.provision(at, "application.provision.user.push", user, app, 0.06)

    def removal(self, ts: int, user: User) -> int:
        app = self.pop.apps[self.rng.choice(user.apps)]
        made = self._admin_action(ts, "application.user_membership.remove", user, app)
        at = ts + self.rng.randint(2_000, 40_000)
        return made + self.provision(at, "application.provision.user.deactivate", user, app, 0.03)

    def profile_push(self, ts: int, user: User) -> int:
        app = self.pop.apps[self.rng.choice(user.apps)]
        kind = "push_profile" if self.rng.random() < 0.6 else "sync"
        return self.provision(ts, f"application.provision.user.{kind}", user, app, 0.03)

    def group_assignment(self, ts: int, user: User) -> int:
        rng, make = self.rng, self.make
        admin = rng.choice(self.pop.admins)
        group = self.pop.groups[user.group]
        app = rng.choice(self.pop.apps)
        return self._at(
            ts,
            "group.application_assignment.add",
            make.user_ref(admin),
            (admin.office, admin.desktop),
            ("SUCCESS", None),
            "Add assigned application to group",
            "app.generic.config.app_group_assigned",
            target=[make.group_ref(group), make.app_ref(app)],
        )

    def integration_failure(self, ts: int, user: User) -> int:
        app = self.rng.choice(self.pop.apps)
        return self.app_error(ts, app, rate_limit=self.rng.random() < 0.5)

    def app_error(self, ts: int, app: App, rate_limit: bool) -> int:
        kind = "rate_limit_exceeded" if rate_limit else "general_failure"
        reason = "API rate limit exceeded" if rate_limit else "Unexpected response from the app"
        return self._at(
            ts,
            f"application.integration.{kind}",
            self.make.system(),
            None,
            ("FAILURE", reason),
            f"Integration {kind.replace('_', ' ')}: {app.label}: {reason}",
            None,
            severity="ERROR",
            target=[self.make.app_ref(app)],
            debug={"appname": app.name, "errorMessage": reason},
        )

    def provision(
        self,
        ts: int,
        event_type: str,
        user: User,
        app: App,
        failure_rate: float = 0.0,
        reason: str | None = None,
    ) -> int:
        """One provisioning step; fails with ``reason`` (or a background one) if given or drawn."""
        if reason is None and self.rng.random() < failure_rate:
            reason = self.rng.choices(BACKGROUND_REASONS, (5, 3, 2))[0]
        text, legacy = PROVISION_TEXT[event_type]
        make = self.make
        debug: dict[str, str] = {"appname": app.name}
        if reason is None:
            outcome: tuple[str, str | None] = ("SUCCESS", None)
            severity = "INFO"
        else:
            outcome = ("FAILURE", reason)
            severity = "ERROR"
            text = f"Automatic provisioning of user {user.name} to app {app.label} failed: {reason}"
            debug["errorMessage"] = reason
            legacy = legacy.replace("_success", "") + "_failed"
        return self._at(
            ts,
            event_type,
            make.system(),
            None,
            outcome,
            text,
            f"app.user_management.{legacy}",
            severity=severity,
            target=[make.app_ref(app), make.app_user_ref(user, app), make.user_ref(user)],
            debug=debug,
        )

    def _admin_action(self, ts: int, event_type: str, user: User, app: App) -> int:
        admin = self.rng.choice(self.pop.admins)
        verb = "Add user to" if event_type.endswith(".add") else "Remove user from"
        return self._at(
            ts,
            event_type,
            self.make.user_ref(admin),
            (admin.office, admin.desktop),
            ("SUCCESS", None),
            f"{verb} application membership",
            "app.generic.provision.assign_user_to_app"
            if event_type.endswith(".add")
            else "app.generic.unprovision.unassign_user_from_app",
            target=[self.make.user_ref(user), self.make.app_ref(app)],
        )

    def _at(self, ts: int, *args: *EventArgs, **kwargs: Unpack[EventOptions]) -> int:
        """Queue one event (built when drained) if it is inside the range; return 1 if so."""
        if ts >= self.end_ms:
            return 0
        heapq.heappush(self.heap, (ts, next(self._seq), self.make, args, kwargs))
        return 1
