"""The needed types split by what Okta can deliver: the hook's subscription and the polling list.

A needed type that Okta's catalog tags hook-eligible is subscribed on the hook; every other one
(not eligible, or not in the catalog at all) can only come from the System Log API, so polling
fetches it. A family (``prefix*``) whose members are all not eligible is polled as the family;
its eligible members are subscribed one by one (a hook takes exact names only). When an alert
rule reads ``hook_gaps`` (hook-eligible events that only polling found), polling also fetches
the subscribed types that view counts: without that cross-check it could never see a gap.

With ``--filter`` (Okta's Early Access hook filters, docs/okta.md §7) the hook sends only the
failures of the assignment and provisioning types that nothing but ``assignment_errors`` reads
(it keeps failures only): those are the high-volume types, and most of the daily budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from okta_alerts.eventhooks.needs import Needs
from okta_alerts.okta.eventcatalog import EventCatalog
from okta_alerts.okta.eventtypes import ASSIGNMENT_TYPES, HOOK_ELIGIBLE

FAILURES_ONLY = "event.outcome.result eq 'FAILURE'"  # Okta Expression Language (docs/okta.md §7)
ASSIGNMENT_VIEW = "view assignment_errors"


@dataclass(frozen=True)
class Plan:
    """What to ask of Okta: the hook's types (and filters) and what polling must fetch."""

    subscribe: tuple[str, ...]
    poll: tuple[str, ...]  # names and families: the needed types the hook cannot deliver...
    not_eligible: tuple[str, ...]  # ...these (listed in the catalog, not hook-eligible)
    not_in_catalog: tuple[str, ...]  # ...and these (not in the catalog snapshot)
    cross_checked: tuple[str, ...] = ()  # subscribed types polled too, for hook_gaps
    filters: dict[str, str] = field(default_factory=dict)  # event type -> EL condition
    needs: Needs = field(default_factory=Needs)

    def who_needs(self, name: str) -> list[str]:
        return self.needs.types.get(name, [])


def make_plan(needs: Needs, catalog: EventCatalog, use_filter: bool = False) -> Plan:
    subscribe: set[str] = set()
    not_eligible: set[str] = set()
    unknown: set[str] = set()
    for spec in needs.types:
        if spec.endswith("*"):
            members = catalog.family(spec[:-1])
            eligible = {m for m in members if catalog.eligible(m)}
            subscribe |= eligible
            if eligible:
                not_eligible |= set(members) - eligible
            elif members:
                not_eligible.add(spec)
            else:
                unknown.add(spec)
        elif catalog.eligible(spec):
            subscribe.add(spec)
        elif catalog.known(spec):
            not_eligible.add(spec)
        else:
            unknown.add(spec)
    filters = _filters(needs, subscribe) if use_filter else {}
    cross = set()
    if needs.cross_check:
        cross = {name for name in subscribe & HOOK_ELIGIBLE if name not in filters}
    return Plan(
        subscribe=tuple(sorted(subscribe)),
        poll=tuple(sorted(not_eligible | unknown | cross)),
        not_eligible=tuple(sorted(not_eligible)),
        not_in_catalog=tuple(sorted(unknown)),
        cross_checked=tuple(sorted(cross)),
        filters=filters,
        needs=needs,
    )


def _filters(needs: Needs, subscribe: set[str]) -> dict[str, str]:
    """Failures only, for subscribed assignment types that only ``assignment_errors`` reads."""
    return {
        name: FAILURES_ONLY
        for name in sorted(subscribe)
        if name in ASSIGNMENT_TYPES and needs.types.get(name) == [ASSIGNMENT_VIEW]
    }


def polls_enough(configured: tuple[str, ...], wanted: tuple[str, ...]) -> list[str]:
    """The ``wanted`` types (names or families) that polling ``configured`` does not fetch."""
    exact = {name for name in configured if not name.endswith("*")}
    prefixes = tuple(name[:-1] for name in configured if name.endswith("*"))
    return [
        name
        for name in wanted
        if name not in exact and not (prefixes and name.rstrip("*").startswith(prefixes))
    ]
