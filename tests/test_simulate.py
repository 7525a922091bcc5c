"""The traffic simulator: determinism, event shape and quirks, scenarios, deliveries, HTTP mode."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from okta_alerts.errors import OktaAlertsError
from okta_alerts.okta.delivery import parse_delivery
from okta_alerts.okta.eventkeys import event_problem
from okta_alerts.sim.hookclient import post_deliveries
from okta_alerts.sim.logevents import QUIRKS
from okta_alerts.sim.simulate import SCENARIOS, batch_deliveries, generate_events

END = datetime(2026, 5, 14, 18, 0, tzinfo=UTC)  # a Thursday
DAY = (END - timedelta(days=1), END)
SECRET = "s3cr3t-token-value"

Event = dict[str, Any]


def events_of(seed: int = 1, span: tuple[datetime, datetime] = DAY, **kwargs: Any) -> list[Event]:
    return list(generate_events(seed, span[0], span[1], **kwargs))


@pytest.fixture(scope="module")
def day() -> list[Event]:
    return events_of(7, rate_per_hour=400)


@pytest.fixture(scope="module")
def scenario_days() -> dict[str, list[Event]]:
    return {name: events_of(3, scenarios=[name], rate_per_hour=300) for name in SCENARIOS}


def ts(event: Event) -> datetime:
    return datetime.fromisoformat(event["published"])


# -- determinism and shape ------------------------------------------------------------------------


def test_same_seed_same_events_and_other_seed_others() -> None:
    span = (END - timedelta(hours=6), END)
    first = events_of(5, span, scenarios=["password-spray"])
    again = events_of(5, span, scenarios=["password-spray"])
    other = events_of(6, span, scenarios=["password-spray"])
    assert orjson.dumps(first) == orjson.dumps(again)
    assert {e["uuid"] for e in first}.isdisjoint(e["uuid"] for e in other)
    assert len(first) > 500


def test_events_are_valid_in_order_and_inside_the_range(day: list[Event]) -> None:
    problems = [event_problem(e) for e in day if event_problem(e) is not None]
    assert problems == []
    times = [ts(e) for e in day]
    assert times == sorted(times)
    assert DAY[0] <= times[0] and times[-1] < DAY[1]
    assert len({e["uuid"] for e in day}) == len(day)
    assert 24 * 400 * 0.6 < len(day) < 24 * 400 * 1.6


def test_event_shape_follows_okta(day: list[Event]) -> None:
    keys = {"uuid", "published", "eventType", "version", "severity", "legacyEventType"}
    keys |= {"displayMessage", "actor", "client", "outcome", "target", "transaction"}
    keys |= {"debugContext", "authenticationContext", "securityContext"}
    sign_ins = [e for e in day if e["eventType"] == "user.session.start"]
    assert sign_ins and all(keys <= e.keys() for e in day)
    event = sign_ins[0]
    assert event["published"].endswith("Z") and len(event["published"]) == 24
    assert event["uuid"][14] == "4" and event["uuid"][19] in "89ab"
    actor = event["actor"]
    assert actor["type"] == "User" and actor["id"].startswith("00u") and len(actor["id"]) == 20
    assert actor["alternateId"].endswith("@example.com")
    geo = event["client"]["geographicalContext"] or {}
    assert {"city", "state", "country", "postalCode", "geolocation"} <= geo.keys()
    assert {"asNumber", "asOrg", "isp", "domain", "isProxy"} <= event["securityContext"].keys()
    assert "requestId" in event["debugContext"]["debugData"]


def test_typical_event_is_about_two_kilobytes(day: list[Event]) -> None:
    sizes = [len(orjson.dumps(e)) for e in day]
    assert 1500 <= statistics.median(sizes) <= 2500
    assert 1500 <= statistics.mean(sizes) <= 2500


def test_population_has_unicode_names_and_okta_app_ids(day: list[Event]) -> None:
    names = {e["actor"]["displayName"] for e in day}
    assert any(not name.isascii() for name in names)
    apps = {
        t["alternateId"]: t["id"]
        for e in day
        for t in e["target"] or []
        if t["type"] == "AppInstance"
    }
    assert {"Salesforce.com", "Slack", "Workday"} <= apps.keys()
    assert all(i.startswith("0oa") and len(i) == 20 for i in apps.values())


def test_sign_ins_follow_working_hours(day: list[Event]) -> None:
    by_hour = Counter(ts(e).hour for e in day if e["eventType"] == "user.session.start")
    assert min(by_hour[h] for h in (9, 10, 11)) > 3 * max(by_hour[h] for h in (1, 2, 3))


QUIRK_CHECKS: dict[str, Callable[[Event], bool]] = {
    "version_number": lambda e: e["version"] == 0,
    "postal_number": lambda e: isinstance(
        ((e["client"] or {}).get("geographicalContext") or {}).get("postalCode"), int
    ),
    "zone_null": lambda e: e["client"]["zone"] == "null",
    "ipchain_in_client": lambda e: "ipChain" in e["client"] and "request" not in e,
    "target_null": lambda e: e["target"] is None and e["eventType"].startswith("application."),
    "insertion_timestamp": lambda e: "insertionTimestamp" in e,
    "security_null": lambda e: e["securityContext"] is None,
    "long_agent": lambda e: len(((e["client"]["userAgent"]) or {}).get("rawUserAgent", "")) > 1000,
}


@pytest.mark.parametrize("quirk", QUIRKS)
def test_quirks_show_up_in_a_large_sample(day: list[Event], quirk: str) -> None:
    hits = sum(1 for e in day if QUIRK_CHECKS[quirk](e))
    assert 0 < hits < len(day) * 0.05


def test_lockouts_unlocks_and_provisioning_failures_look_like_okta(day: list[Event]) -> None:
    by_type = defaultdict(list)
    for e in day:
        by_type[e["eventType"]].append(e)
    locks = by_type["user.account.lock"]
    assert locks and all(e["displayMessage"] == "Max sign in attempts exceeded" for e in locks)
    assert all(e["outcome"] == {"result": "FAILURE", "reason": "LOCKED_OUT"} for e in locks)
    assert all(e["actor"]["type"] == "User" and e["target"] is None for e in locks)
    for e in by_type["user.account.unlock_by_admin"]:
        assert e["target"] is None or e["target"][0]["id"] != e["actor"]["id"]
    assert by_type["user.account.unlock"] and by_type["user.account.unlock_by_admin"]
    failed = [
        e
        for e in day
        if e["eventType"].startswith("application.provision.")
        and e["outcome"]["result"] == "FAILURE"
    ]
    assert failed
    for e in failed:
        reason = e["outcome"]["reason"]
        assert e["displayMessage"].startswith("Automatic provisioning of user ")
        assert e["displayMessage"].endswith(f" failed: {reason}")
        assert e["debugContext"]["debugData"]["errorMessage"] == reason
        if e["target"] is not None:
            assert {"AppInstance", "AppUser", "User"} == {t["type"] for t in e["target"]}


def test_unknown_scenario_is_a_clear_error() -> None:
    with pytest.raises(
        OktaAlertsError, match=r"unknown scenario 'nope'; choose from: lockout-storm"
    ):
        generate_events(1, *DAY, scenarios=["nope"])


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [(END, END, "must be after the start"), (END, END - timedelta(hours=1), "after the start")],
)
def test_bad_time_range_is_a_clear_error(start: datetime, end: datetime, match: str) -> None:
    with pytest.raises(OktaAlertsError, match=match):
        generate_events(1, start, end)


# -- scenarios ------------------------------------------------------------------------------------


def max_in_window(
    items: list[tuple[datetime, str]], window: timedelta
) -> tuple[int, datetime | None]:
    """Most distinct keys seen within any ``window`` (and where that window starts)."""
    items = sorted(items)
    best, where = 0, None
    for i, (start, _) in enumerate(items):
        keys = set()
        for when, key in items[i:]:
            if when >= start + window:
                break
            keys.add(key)
        if len(keys) > best:
            best, where = len(keys), start
    return best, where


def lock_storm(events: list[Event]) -> int:
    locks = [(ts(e), e["actor"]["id"]) for e in events if e["eventType"] == "user.account.lock"]
    return max_in_window(locks, timedelta(hours=1))[0]


def spray(events: list[Event]) -> tuple[int, int]:
    """(most users failing from one IP within 15 minutes, users of that IP locked)."""
    failing: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    locked: dict[str, set[str]] = defaultdict(set)
    for e in events:
        ip = e["client"]["ipAddress"]
        if e["eventType"] == "user.session.start" and e["outcome"]["result"] == "FAILURE":
            failing[ip].append((ts(e), e["actor"]["alternateId"]))
        elif e["eventType"] == "user.account.lock":
            locked[ip].add(e["actor"]["alternateId"])
    best = max(failing, key=lambda ip: max_in_window(failing[ip], timedelta(minutes=15))[0])
    return max_in_window(failing[best], timedelta(minutes=15))[0], len(locked[best])


def outage(events: list[Event]) -> tuple[int, float]:
    """(most provisioning failures of one app in one clock hour, share of its top reason)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in events:
        if (
            e["eventType"].startswith("application.provision.")
            and e["outcome"]["result"] == "FAILURE"
        ):
            app = e["debugContext"]["debugData"]["appname"]
            groups[(app, e["published"][:13])].append(e["outcome"]["reason"])
    reasons = max(groups.values(), key=len)
    return len(reasons), Counter(reasons).most_common(1)[0][1] / len(reasons)


SIGNATURES: dict[str, Callable[[list[Event]], bool]] = {
    "lockout-storm": lambda ev: lock_storm(ev) >= 20,
    "password-spray": lambda ev: spray(ev)[0] >= 10 and spray(ev)[1] >= 3,
    "provisioning-outage": lambda ev: outage(ev)[0] >= 20 and outage(ev)[1] >= 0.5,
    "quiet": lambda ev: lock_storm(ev) < 10 and len(ev) < 24 * 300 * 0.5,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_produces_its_signature(
    scenario_days: dict[str, list[Event]], name: str
) -> None:
    assert SIGNATURES[name](scenario_days[name])
    assert SCENARIOS[name].description


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "quiet"])
def test_background_alone_has_no_scenario_signature(
    scenario_days: dict[str, list[Event]], name: str
) -> None:
    assert not SIGNATURES[name](scenario_days["quiet"])


def test_a_burst_lands_in_the_last_hours_of_long_ranges() -> None:
    span = (END - timedelta(days=3), END)
    events = events_of(2, span, scenarios=["lockout-storm"], rate_per_hour=50)
    count, start = max_in_window(
        [(ts(e), e["actor"]["id"]) for e in events if e["eventType"] == "user.account.lock"],
        timedelta(hours=1),
    )
    assert count >= 20 and start is not None and END - start < timedelta(hours=5)


def test_a_burst_fits_a_one_hour_range() -> None:
    events = events_of(4, (END - timedelta(hours=1), END), scenarios=["provisioning-outage"])
    assert sum(e["outcome"]["result"] == "FAILURE" for e in events) >= 30


# -- deliveries -----------------------------------------------------------------------------------


def test_batch_deliveries_are_valid_envelopes_of_varied_size() -> None:
    events = events_of(8, (END - timedelta(hours=3), END), rate_per_hour=400)
    envelopes = list(batch_deliveries(events, seed=8, max_batch=40))
    sizes = [len(env["data"]["events"]) for env in envelopes]
    assert max(sizes) <= 40 and min(sizes) >= 1 and len(set(sizes)) > 10
    for env in envelopes:
        batch = parse_delivery(orjson.dumps(env))
        assert batch.delivery_id == env["eventId"]
        assert env["eventType"] == "com.okta.event_hook" and env["cloudEventsVersion"] == "0.1"
        assert env["eventTime"] >= env["data"]["events"][-1]["published"]
    delivered = [e["uuid"] for env in envelopes for e in env["data"]["events"]]
    assert delivered == [e["uuid"] for e in events]
    assert len({env["eventId"] for env in envelopes}) == len(envelopes)


def test_duplicates_resend_the_same_delivery_later() -> None:
    events = events_of(9, (END - timedelta(hours=3), END), rate_per_hour=400)
    envelopes = list(batch_deliveries(events, seed=9, duplicate_rate=0.2))
    first: dict[str, int] = {}
    resent = 0
    for index, env in enumerate(envelopes):
        if env["eventId"] in first:
            original = envelopes[first[env["eventId"]]]
            assert env == original and index > first[env["eventId"]]
            resent += 1
        else:
            first[env["eventId"]] = index
    assert resent > 0 and len(first) == len(envelopes) - resent
    delivered = {e["uuid"] for env in envelopes for e in env["data"]["events"]}
    assert delivered == {e["uuid"] for e in events}
    again = list(batch_deliveries(events, seed=9, duplicate_rate=0.2))
    assert [e["eventId"] for e in again] == [e["eventId"] for e in envelopes]


# -- HTTP mode against a real server --------------------------------------------------------------


@dataclass
class HookServer:
    """A tiny event-hook endpoint that records requests and answers as told."""

    url: str = ""
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    post_statuses: list[int] = field(default_factory=list)  # answers to the next POSTs
    get_status: int = 200

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append((request.method, dict(request.headers), body))
        if request.method == "GET":
            if self.get_status != 200:
                return JSONResponse({"error": "unauthorized"}, self.get_status)
            challenge = request.headers["x-okta-verification-challenge"]
            return JSONResponse({"verification": challenge})
        status = self.post_statuses.pop(0) if self.post_statuses else 200
        if status == 200:
            return Response(status_code=200)
        return JSONResponse({"error": "invalid_event", "detail": "as told"}, status)

    def posts(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for method, _, body in self.requests if method == "POST"]


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    state = HookServer()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    app = Starlette(routes=[Route("/hook", state.endpoint, methods=["GET", "POST"])])
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the hook server did not start"
        time.sleep(0.01)
    yield state
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def some_envelopes(count: int, seed: int = 12) -> list[dict[str, Any]]:
    events = generate_events(seed, END - timedelta(hours=2), END, rate_per_hour=300, users=50)
    envelopes = batch_deliveries(events, seed, max_batch=20)
    return [env for _, env in zip(range(count), envelopes, strict=False)]


def test_post_verifies_first_then_delivers_everything_with_the_auth_header(
    hook_server: HookServer,
) -> None:
    envelopes = some_envelopes(30)
    headers = {"Authorization": SECRET, "X-Okta-Org": "acme"}
    result = post_deliveries(hook_server.url, envelopes, headers, concurrency=4, timeout=5)
    method, get_headers, _ = hook_server.requests[0]
    assert method == "GET" and get_headers["authorization"] == SECRET
    assert [m for m, _, _ in hook_server.requests].count("GET") == 1
    posts = hook_server.requests[1:]
    assert len(posts) == 30
    for _, seen, _ in posts:
        assert seen["authorization"] == SECRET and seen["x-okta-org"] == "acme"
        assert (
            seen["content-type"] == "application/json" and seen["user-agent"] == "Okta-Integrations"
        )
    assert sorted(p["eventId"] for p in hook_server.posts()) == sorted(
        e["eventId"] for e in envelopes
    )
    events = sum(len(e["data"]["events"]) for e in envelopes)
    assert (result.sent, result.acknowledged, result.rejected, result.retried) == (30, 30, 0, 0)
    assert result.events_acknowledged == result.events_sent == events


@pytest.mark.parametrize(
    ("statuses", "posts", "acknowledged", "rejected", "retried"),
    [
        ([500], 2, 1, 0, 1),  # a 5xx is retried once, then acknowledged
        ([503, 502], 2, 0, 1, 1),  # ... and only once
        ([400], 1, 0, 1, 0),  # a 4xx is never retried
        ([401], 1, 0, 1, 0),
    ],
)
def test_post_retries_once_after_5xx_never_after_4xx(
    hook_server: HookServer,
    statuses: list[int],
    posts: int,
    acknowledged: int,
    rejected: int,
    retried: int,
) -> None:
    hook_server.post_statuses = list(statuses)
    result = post_deliveries(hook_server.url, some_envelopes(1), {}, concurrency=1, timeout=5)
    assert len(hook_server.posts()) == posts
    assert len({p["eventId"] for p in hook_server.posts()}) == 1
    assert (result.acknowledged, result.rejected, result.retried) == (
        acknowledged,
        rejected,
        retried,
    )
    if rejected:
        assert result.errors == [(statuses[-1], "invalid_event: as told")]


def test_failed_verification_is_a_clear_error_without_the_secret(hook_server: HookServer) -> None:
    hook_server.get_status = 401
    with pytest.raises(OktaAlertsError, match=r"HTTP 401 \(unauthorized\)") as caught:
        post_deliveries(hook_server.url, some_envelopes(3), {"Authorization": SECRET}, timeout=5)
    assert SECRET not in str(caught.value)
    assert all(method == "GET" for method, _, _ in hook_server.requests)


def test_unreachable_url_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"  # bound, not listening
        with pytest.raises(OktaAlertsError, match=r"cannot reach .* is the receiver running"):
            post_deliveries(url, [], {}, timeout=2)


# -- the command ----------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> Any:
    from okta_alerts.cli import main

    return CliRunner().invoke(main, ["simulate", *args], env=env or {}, catch_exceptions=False)


def test_cli_posts_to_a_url_with_the_configured_secret(
    hook_server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_ALERTS_AUTH_SECRET", SECRET)
    result = run_cli(
        "--url", hook_server.url, "--hours", "0.5", "--end", "2026-05-14T12:00Z",
        "--users", "50", "--duplicates", "0.1", "--seed", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    posts = hook_server.posts()
    assert posts and all(h["authorization"] == SECRET for _, h, _ in hook_server.requests)
    generated = len({e["uuid"] for p in posts for e in p["data"]["events"]})
    assert f"simulate: {generated} events generated; {len(posts)} deliveries" in result.output
    assert " 0 rejected" in result.output


def test_cli_writes_history_into_a_store(tmp_path: Any) -> None:
    import okta_alerts

    data_dir = tmp_path / "store"
    result = run_cli(
        "--to-store", str(data_dir), "--days", "0.5", "--end", "2026-05-14T12:00Z",
        "--scenario", "lockout-storm", "--rate", "100",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = len(
        events_of(
            42,
            (END - timedelta(hours=18), END - timedelta(hours=6)),
            scenarios=["lockout-storm"],
            rate_per_hour=100,
        )
    )
    assert (
        f"simulate: {expected} events generated, {expected} stored in {data_dir}" in result.output
    )
    con = okta_alerts.connect(data_dir)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (expected,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of --url URL or --to-store DIR"),
        (("--url", "http://x", "--to-store", "d"), "exactly one of --url"),
        (("--url", "http://x", "--days", "1", "--hours", "1"), "--days or --hours, not both"),
        (("--url", "http://x", "--scenario", "nope"), "'nope' is not one of"),
        (("--url", "http://x", "--end", "yesterday"), "not an ISO-8601 time"),
    ],
)
def test_cli_usage_errors_are_clear(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2 and message in result.output
