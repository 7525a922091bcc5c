"""``okta connect``: create or update the org's event hook, verify and activate it, turn on polling.

One idempotent pass (docs/okta.md §6): work out the plan (:mod:`~.plan`), find the hook by name,
create it (``POST``) or replace it (``PUT``, the secret included) only when something differs,
verify it when it is new, changed or not ``VERIFIED`` (Okta then calls the receiver's ``GET``
with the challenge), activate it when it is not ``ACTIVE``, and write the polling settings for
the types the hook cannot deliver. A run that finds everything as wanted changes nothing and
says so; ``dry_run`` only reads, and reports what it would do.
"""

from __future__ import annotations

import secrets
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from okta_alerts.config import Settings
from okta_alerts.errors import EventHookApiError, HookVerificationError
from okta_alerts.eventhooks.api import EventHooksApi, Hook
from okta_alerts.eventhooks.hook import (
    CHANNEL_CHANGES,
    check_hook_url,
    desired_hook,
    differences,
)
from okta_alerts.eventhooks.needs import collect_needs
from okta_alerts.eventhooks.plan import Plan, make_plan
from okta_alerts.eventhooks.pollconfig import PollChange, apply_poll_settings
from okta_alerts.eventhooks.record import channel_unchanged, load_record, new_record, save_record
from okta_alerts.okta.eventcatalog import EventCatalog, load_catalog
from okta_alerts.store.handoff import answer_detail
from okta_alerts.times import okta_time

CHALLENGE_HEADER = "X-Okta-Verification-Challenge"


@dataclass
class ConnectReport:
    """What ``okta connect`` did (or, in a dry run, would do)."""

    org: str
    name: str
    url: str
    plan: Plan
    catalog: EventCatalog
    dry_run: bool = False
    hook_id: str | None = None
    actions: list[str] = field(default_factory=list)
    poll: PollChange | None = None

    @property
    def changed(self) -> bool:
        return bool(self.actions) or (self.poll is not None and self.poll.action != "unchanged")

    def lines(self) -> list[str]:
        return report_lines(self)


def connect_hook(
    settings: Settings,
    url: str,
    name: str,
    *,
    dry_run: bool = False,
    use_filter: bool = False,
    config_file: Path | None = None,
) -> ConnectReport:
    """Make Okta's hook ``name`` deliver the needed eligible types to ``url``; poll the rest."""
    url = check_hook_url(url)
    catalog = load_catalog()
    plan = make_plan(collect_needs(settings, catalog), catalog, use_filter)
    wanted = desired_hook(name, url, settings, plan)
    with EventHooksApi.from_settings(settings) as api:
        report = ConnectReport(api.org_url, name, url, plan, catalog, dry_run)
        remote = api.find(name)
        if remote is None:
            _create(api, wanted, settings, report)
        else:
            _update(api, remote, wanted, settings, report)
    report.poll = apply_poll_settings(settings, plan.poll, config_file, dry_run)
    return report


def _create(api: EventHooksApi, wanted: Hook, settings: Settings, report: ConnectReport) -> None:
    report.actions.append(f"created the hook, calling {report.url}")
    if report.dry_run:
        report.actions += ["verified it (Okta calls the receiver's GET)", "activated it"]
        return
    hook = api.create(wanted)
    report.hook_id = str(hook.get("id"))
    save_record(settings.data_dir, new_record(report.org, hook, wanted, _now()))
    _verify_and_activate(api, hook, settings, report, verify=True)


def _update(
    api: EventHooksApi, remote: Hook, wanted: Hook, settings: Settings, report: ConnectReport
) -> None:
    report.hook_id = hook_id = str(remote.get("id"))
    changed = differences(remote, wanted)
    record = load_record(settings.data_dir)
    if not channel_unchanged(record, report.org, hook_id, wanted) and not any(
        c.startswith(CHANNEL_CHANGES)
        for c in changed  # those resend the secret anyway
    ):
        why = "changed" if record and record.get("hook_id") == hook_id else "not known here"
        changed.append(f"the secret ({why}: resent)")
    if changed:
        report.actions.append("updated the hook: " + ", ".join(changed))
        if not report.dry_run:
            remote = api.replace(hook_id, wanted)
            save_record(settings.data_dir, new_record(report.org, remote, wanted, _now()))
    verify = bool(changed) or remote.get("verificationStatus") != "VERIFIED"
    if report.dry_run:
        report.actions += ["verified it"] if verify else []
        report.actions += ["activated it"] if remote.get("status") != "ACTIVE" else []
        return
    _verify_and_activate(api, remote, settings, report, verify)


def _verify_and_activate(
    api: EventHooksApi, hook: Hook, settings: Settings, report: ConnectReport, verify: bool
) -> None:
    hook_id = str(hook.get("id"))
    if verify:
        try:
            hook = api.verify(hook_id)
        except EventHookApiError as exc:
            if exc.status != 400:
                raise
            raise HookVerificationError(
                verification_failure(report, settings, exc.summary), exc.status, exc.summary
            ) from None
        report.actions.append("verified it: Okta called the receiver and got the challenge back")
    if hook.get("status") != "ACTIVE":
        api.activate(hook_id)
        report.actions.append("activated it")


def verification_failure(report: ConnectReport, settings: Settings, okta_says: str) -> str:
    """What to check when Okta could not verify the hook, with what the URL answers from here."""
    return (
        f"Okta could not verify the event hook {report.name!r} ({report.hook_id}) at "
        f"{report.url}: {okta_says}. Okta sends one GET with the {CHALLENGE_HEADER} header "
        f"and the {settings.auth_header} header (the secret), and the receiver must echo the "
        f"challenge within 3 seconds. {probe(report.url, settings)} The hook is saved but gets "
        "no events until it is verified: fix this, then run okta-alerts okta connect again"
    )


def probe(url: str, settings: Settings) -> str:
    """Call ``url`` as Okta's verification does, from here, and say what that tells."""
    challenge = secrets.token_hex(8)
    headers = {**settings.hook_headers(), CHALLENGE_HEADER: challenge}
    try:
        answer = httpx.get(url, headers=headers, timeout=5.0, follow_redirects=False)
    except httpx.HTTPError as exc:
        return (
            f"From here it does not answer either ({type(exc).__name__}): start the receiver "
            "(okta-alerts run), and check DNS, the firewall and the TLS proxy in front of it."
        )
    if answer.status_code in (401, 403):
        return (
            f"From here the receiver refuses the headers this command sent "
            f"(HTTP {answer.status_code}: {answer_detail(answer)}): OKTA_ALERTS_AUTH_SECRET, "
            "OKTA_ALERTS_AUTH_HEADER or OKTA_ALERTS_CUSTOM_HEADERS here differ from the "
            "receiver's. Give both the same values."
        )
    try:
        echoed = answer.status_code == 200 and answer.json().get("verification") == challenge
    except (ValueError, AttributeError):
        echoed = False
    if echoed:
        return (
            "From here it answers the challenge correctly, so Okta cannot reach it: the URL "
            "must be reachable from the internet over HTTPS, with a certificate from a public "
            "certificate authority."
        )
    return (
        f"From here it answers HTTP {answer.status_code} ({answer_detail(answer)}) without the "
        "challenge: is the URL the receiver's /hooks/okta, and does the proxy pass GET and its "
        "headers through?"
    )


def report_lines(report: ConnectReport) -> list[str]:
    plan, catalog = report.plan, report.catalog
    head = f"Okta org {report.org}, event hook {report.name!r}" + (
        f" ({report.hook_id})" if report.hook_id else ""
    )
    lines = [head + ":"]
    if report.dry_run and report.actions:
        lines.append("  dry run: nothing was changed; it would have")
    lines += [f"  {'  ' if report.dry_run else ''}{action}" for action in report.actions]
    if not report.actions:
        lines.append(
            f"  unchanged: ACTIVE and VERIFIED, calling {report.url} with the same headers and "
            f"secret, subscribed to the {len(plan.subscribe)} needed hook-eligible types"
        )
    lines += _listing(f"hook-eligible types subscribed ({len(plan.subscribe)})", plan.subscribe)
    if plan.filters:
        lines.append(f"  failures only (--filter) for {len(plan.filters)} of them")
    lines += _listing(
        f"needed but not hook-eligible ({len(plan.not_eligible)}), from System Log polling",
        plan.not_eligible,
    )
    if plan.not_in_catalog:
        lines += _listing(
            f"not in Okta's catalog (snapshot of {catalog.retrieved}), polled too",
            plan.not_in_catalog,
        )
    if plan.cross_checked:
        who = ", ".join(plan.needs.cross_check)
        lines.append(
            f"  also polled: the {len(plan.cross_checked)} subscribed types hook_gaps compares "
            f"({who}): polling finds what the hook missed"
        )
    lines += poll_lines(report.poll)
    if not report.changed:
        lines.append("Nothing to change: a second run changes nothing.")
    return lines


def poll_lines(poll: PollChange | None) -> list[str]:
    if poll is None:
        return []
    keys = " and ".join(poll.values)
    if poll.action == "unchanged":
        return ["System Log polling: already set to fetch exactly these types"]
    if poll.action == "would write":
        return [f"System Log polling: would write {keys} to {poll.path}"]
    if poll.action == "written":
        return [
            f"System Log polling: wrote {keys} to {poll.path}; restart okta-alerts run to apply "
            "it (it polls when OKTA_ALERTS_POLL_SECONDS > 0)"
        ]
    return [f"System Log polling: {poll.reason}; set these yourself:"] + [
        "    " + line.rstrip("\n") for line in poll.lines
    ]


def _listing(title: str, names: tuple[str, ...]) -> list[str]:
    if not names:
        return []
    body = textwrap.wrap(", ".join(names), 96, initial_indent="    ", subsequent_indent="    ")
    return [f"  {title}:", *body]


def _now() -> str:
    return okta_time(datetime.now(UTC))
