"""The local half of ``okta status``: the receiver, the store, polling and hook gaps.

Each check answers one question with a :class:`Check`: ``ok``, what was found, and what to do
when it is not ok. Checks never raise: what cannot be read is a failed check that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from okta_alerts.config import Settings
from okta_alerts.eventhooks.plan import Plan, polls_enough
from okta_alerts.files import lock_holder
from okta_alerts.read.connect import connect
from okta_alerts.read.hookgaps import hook_health
from okta_alerts.read.views import SYSTEMLOG
from okta_alerts.sql import literal
from okta_alerts.store.handoff import receiver_url
from okta_alerts.store.layout import WRITER_LOCK
from okta_alerts.systemlog.cursors import POLL_FILE, load_poll_cursor
from okta_alerts.times import format_duration, parse_time

BUDGET_WARNING = 280_000  # Okta's System Log warning (docs/okta.md §2)
BUDGET_CAP = 400_000  # hook events per org per 24 h; Okta sends no more, and never replays
RUN = "okta-alerts run"


@dataclass(frozen=True)
class Check:
    """One line of ``okta status``."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def receiver_check(settings: Settings) -> Check:
    """The receiver answers ``/healthz`` (its address from the writer lock's note)."""
    holder = lock_holder(settings.events_dir / WRITER_LOCK)
    url = receiver_url(settings, holder).rsplit("/hooks/okta", 1)[0] + "/healthz"
    try:
        answer = httpx.get(url, timeout=5.0)
        body = answer.json() if answer.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as exc:
        return Check(
            "receiver",
            False,
            f"not answering at {url} ({type(exc).__name__})",
            f"start it: {RUN} (or okta-alerts serve); set OKTA_ALERTS_HOST/PORT to where it "
            "listens",
        )
    status = body.get("status") if isinstance(body, dict) else None
    if status != "ok":
        lag = body.get("store_lag_seconds") if isinstance(body, dict) else None
        return Check(
            "receiver",
            False,
            f"{url} answers HTTP {answer.status_code}, status {status} (store lag {lag} s)",
            "the receiver cannot seal what it acknowledged: check its log and the disk",
        )
    return Check("receiver", True, f"answering at {url} ({body.get('events_stored')} events)")


def store_figures(settings: Settings, now: datetime) -> dict[str, Any]:
    """The last hook delivery, the last event stored, hook events received in the last 24 h."""
    hook = f"delivery_id IS NOT NULL AND NOT starts_with(delivery_id, {literal(SYSTEMLOG)})"
    since = now - timedelta(hours=24)
    con = connect(settings.data_dir)
    try:
        row = con.execute(
            f"""SELECT max(received_at) FILTER (WHERE {hook}), max(received_at),
                  count(*) FILTER (WHERE {hook} AND received_at >= $since
                                   AND published >= $since - INTERVAL 1 DAY)
                FROM events""",
            {"since": since},
        ).fetchone()
    finally:
        con.close()
    last_hook, last_stored, budget = row if row else (None, None, 0)
    return {"last_hook": last_hook, "last_stored": last_stored, "hook_events_24h": int(budget)}


def delivery_check(figures: dict[str, Any], now: datetime) -> Check:
    last_hook, last_stored = figures["last_hook"], figures["last_stored"]
    stored = f"last event stored {_ago(last_stored, now)}" if last_stored else "no event stored"
    if last_hook is None:
        return Check(
            "hook deliveries",
            False,
            f"no event has come by the hook yet; {stored}",
            "Okta starts sending a few minutes after the hook is verified; if nothing comes, "
            "check the hook (above) and that the receiver is reachable from Okta",
        )
    return Check("hook deliveries", True, f"last hook delivery {_ago(last_hook, now)}; {stored}")


def budget_check(figures: dict[str, Any]) -> Check:
    used = figures["hook_events_24h"]
    detail = (
        f"{used:,} hook events in the last 24 h of Okta's {BUDGET_CAP:,} a day "
        f"(warning at {BUDGET_WARNING:,})"
    )
    if used < BUDGET_WARNING:
        return Check("hook budget", True, detail)
    return Check(
        "hook budget",
        False,
        detail,
        f"past {BUDGET_CAP:,} Okta stops sending for the rest of the 24 h and never replays: "
        "subscribe fewer types, or run okta-alerts okta connect --filter (failures only for "
        "the assignment types)",
    )


def poll_check(settings: Settings, plan: Plan, now: datetime) -> Check:
    """Polling is on, fetches every type the hook cannot deliver, and has polled lately."""
    if not plan.poll:
        return Check("polling", True, "nothing to poll: the hook delivers every needed type")
    fix = f"run okta-alerts okta connect (it sets polling up), then restart {RUN}"
    if settings.poll_seconds <= 0:
        return Check("polling", False, f"off, but {len(plan.poll)} needed types need it", fix)
    missing = polls_enough(settings.poll_event_types, plan.poll)
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        return Check("polling", False, f"does not fetch {len(missing)} needed types: {shown}", fix)
    cursor = load_poll_cursor(settings.data_dir / POLL_FILE)
    polled = cursor.get("polled_at") if cursor else None
    if not polled:
        return Check("polling", False, "has not polled yet", f"start {RUN} (or okta-alerts poll)")
    age = now - parse_time(polled)
    allowed = timedelta(seconds=max(3 * settings.poll_seconds, 300))
    if age > allowed:
        return Check(
            "polling",
            False,
            f"last poll {_ago(parse_time(polled), now)} (every {settings.poll_seconds:g} s)",
            f"the poller has stopped: check {RUN} and its log",
        )
    return Check("polling", True, f"last poll {_ago(parse_time(polled), now)}")


def gaps_check(settings: Settings, plan: Plan) -> Check:
    if not plan.cross_checked:
        return Check("hook gaps", True, "not measured: polling fetches no hook-eligible type")
    health = hook_health(settings.data_dir, 24)
    missed = int(health["missed"])
    if missed == 0:
        return Check("hook gaps", True, "none in the last 24 h")
    return Check(
        "hook gaps",
        False,
        f"{missed} hook-eligible events in the last 24 h came only from polling",
        "see okta-alerts status and the view hook_gaps; check the receiver's uptime and the "
        "delivery failures",
    )


def _ago(when: datetime, now: datetime) -> str:
    seconds = max(0, int((now - when.astimezone(UTC)).total_seconds()))
    if seconds >= 120:
        seconds -= seconds % 60  # whole minutes once it is minutes ago
    return f"{format_duration(timedelta(seconds=seconds))} ago"
