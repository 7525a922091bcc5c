"""Analysis queries on small hand-built stores with exactly known answers.

The window is the 24 h before END with a 3-day baseline: [11-27 12:00, 11-28 12:00) against
[11-24 12:00, 11-27 12:00). Each store is written through the real writer path.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import okta_alerts
from okta_alerts import analysis
from okta_alerts.analysis.windows import make_window
from okta_alerts.errors import WindowError
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import open_writer
from okta_alerts.times import parse_time
from tests.support.factories import make_event
from tests.support.settings import make_settings

END = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WINDOW = make_window(END, 24, 3)
MS = timedelta(milliseconds=1)
IP_A, IP_B = "198.51.100.1", "203.0.113.9"


def at(text: str) -> datetime:
    """``"11-28 09:05"`` → that minute of November 2026, UTC."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def lock(user: str, when: datetime, ip: str = IP_A, **kw: Any) -> dict[str, Any]:
    where = {IP_A: ("United States", 7922, "comcast"), IP_B: ("Germany", 3320, "dtag")}
    country, asn, org = where.get(ip, ("France", 16276, "ovh sas"))
    defaults = {"country": country, "as_number": asn, "as_org": org, "result": "FAILURE"}
    return make_event("user.account.lock", when, actor=user, ip=ip, **{**defaults, **kw})


def unlock(user: str, when: datetime, by_admin: bool) -> dict[str, Any]:
    kind = "user.account.unlock_by_admin" if by_admin else "user.account.unlock"
    actor = "admin@example.com" if by_admin else "system@okta.com"
    return make_event(kind, when, actor=actor, user=user)


def failed(event_type: str, when: datetime, app: str, user: str, reason: str) -> dict[str, Any]:
    return make_event(event_type, when, result="FAILURE", reason=reason, app=app, user=user)


PUSH = "application.provision.user.push"

LOCKOUT_EVENTS = [
    lock("alice@example.com", at("11-28 09:05")),
    lock("alice@example.com", at("11-28 09:40")),
    lock("bob@example.com", at("11-28 09:10"), ip=IP_B),
    lock("carol@example.com", at("11-27 12:00")),  # the window's first instant: in
    lock("dave@example.com", at("11-28 12:00") - MS, ip=IP_B),  # its last millisecond: in
    lock("erin@example.com", at("11-28 12:00")),  # the end is exclusive: out
    lock("frank@example.com", at("11-27 12:00") - MS),  # baseline
    lock("alice@example.com", at("11-25 10:00")),  # baseline
    unlock("alice@example.com", at("11-28 09:20"), by_admin=True),
    unlock("alice@example.com", at("11-28 10:40"), by_admin=False),
    unlock("carol@example.com", at("11-27 12:30"), by_admin=True),
    unlock("frank@example.com", at("11-27 13:00"), by_admin=False),  # its lockout is before
]

ASSIGNMENT_EVENTS = [
    failed(PUSH, at("11-28 08:00"), "Salesforce.com", "u1@example.com", "API rate limit exceeded"),
    failed(PUSH, at("11-28 08:10"), "Salesforce.com", "u2@example.com", "API rate limit exceeded"),
    failed(PUSH, at("11-28 08:20"), "Salesforce.com", "u3@example.com", "API rate limit exceeded"),
    failed(PUSH, at("11-28 09:00"), "Salesforce.com", "u1@example.com", "Matching user not found"),
    failed(
        "application.user_membership.add",
        at("11-27 15:00"),
        "Box",
        "u4@example.com",
        "Matching user not found",
    ),
    make_event(PUSH, at("11-28 08:30"), app="Salesforce.com", user="u5@example.com"),  # success
    failed(PUSH, at("11-25 08:00"), "Salesforce.com", "u1@example.com", "Matching user not found"),
    failed(PUSH, at("11-26 08:00"), "Slack", "u6@example.com", "Slack API down"),
    failed(PUSH, at("11-26 08:05"), "Slack", "u7@example.com", "Slack API down"),
]


def open_store(root: Path, *arrivals: Iterable[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    """Store each group of events through the writer, sealing and compacting in between (so a
    later group lands in new segments and daily parts), then connect."""
    with open_writer(make_settings(root), owner="test") as writer:
        for events in arrivals:
            writer.append_batch(Batch(None, list(events)))
            journal = writer.rotate()
            if journal is not None:
                writer.seal(journal)
            writer.compact()
    return okta_alerts.connect(root)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    events = LOCKOUT_EVENTS + ASSIGNMENT_EVENTS
    random.Random(3).shuffle(events)  # arrival order is not published order
    return open_store(tmp_path_factory.mktemp("data"), events[:9], events[9:])


@pytest.fixture(scope="module")
def empty_con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return okta_alerts.connect(tmp_path_factory.mktemp("empty"))


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """The rows of ``columns`` as tuples, missing values as None."""
    picked = frame[list(columns)].astype(object)
    return [tuple(r) for r in picked.where(picked.notna(), None).itertuples(index=False)]


# -- windows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "hours", "bucket", "start", "stop", "kind"),
    [
        (END, 24, None, at("11-27 12:00"), END, "hour"),
        ("2026-11-28T11:34:10Z", 24, None, at("11-27 12:00"), END, "hour"),  # end rounds up
        ("2026-11-28T12:00", 6, None, at("11-28 06:00"), END, "hour"),  # naive is UTC
        ("2026-11-28T13:00+01:00", 24, None, at("11-27 12:00"), END, "hour"),
        (END, 72, None, at("11-25 12:00"), END, "hour"),
        (END, 73, None, at("11-25 00:00"), at("11-29 00:00"), "day"),  # whole UTC days
        (END, 24, "day", at("11-28 00:00"), at("11-29 00:00"), "day"),  # today, whole
    ],
)
def test_make_window_rounds_to_whole_buckets(
    end: Any, hours: int, bucket: Any, start: datetime, stop: datetime, kind: str
) -> None:
    window = make_window(end, hours, 3, bucket)
    assert (window.start, window.end, window.bucket) == (start, stop, kind)
    assert window.baseline_start == start - timedelta(days=3)


def test_make_window_defaults_to_now() -> None:
    window = make_window(now=datetime(2026, 11, 28, 11, 59, tzinfo=UTC))
    assert (window.start, window.end, window.baseline_days) == (at("11-27 12:00"), END, 14)
    assert make_window().end > datetime.now(UTC)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"end": "yesterday"}, "ISO-8601"),
        ({"window_hours": 0}, "window_hours"),
        ({"window_hours": "24"}, "window_hours"),
        ({"baseline_days": -1}, "baseline_days"),
        ({"baseline_days": 1.5}, "baseline_days"),
        ({"bucket": "week"}, "bucket"),
    ],
)
def test_make_window_rejects_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(WindowError, match=message):
        make_window(**{"end": END, **kwargs})


def test_window_text_and_baseline_periods() -> None:
    assert WINDOW.baseline_periods == 3
    assert make_window(END, 48, 3).baseline_periods == 1
    assert make_window(END, 24, 0).baseline_periods == 0
    assert str(WINDOW).startswith("24 h from 2026-11-27 12:00 to 2026-11-28 12:00 UTC")
    assert parse_time("2026-11-28T12:00:00.000Z") == END


# -- lockouts -----------------------------------------------------------------------------------


def test_lockouts_by_hour_zero_filled_with_baseline_band(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.lockouts_by_hour(con, WINDOW)
    assert len(frame) == 24
    assert frame.bucket.iloc[0] == pd.Timestamp("2026-11-27 12:00", tz="UTC")
    assert str(frame.bucket.dt.tz) == "UTC"
    counts = {b.strftime("%d %H"): c for b, c in zip(frame.bucket, frame["count"], strict=True)}
    assert {k: v for k, v in counts.items() if v} == {"27 12": 1, "28 09": 3, "28 11": 1}
    band = frame.set_index(frame.bucket.dt.hour)
    # hour 10 had one lockout on one of its 3 baseline days, hour 11 too (frank, 11:59:59.999)
    assert band.loc[10, "baseline_mean"] == pytest.approx(1 / 3)
    assert band.loc[11, "baseline_mean"] == pytest.approx(1 / 3)
    assert (band.loc[10, "baseline_low"], band.loc[10, "baseline_high"]) == (0.0, 0.8)
    assert band.loc[9, ["baseline_mean", "baseline_low", "baseline_high"]].tolist() == [0, 0, 0]


def test_lockouts_by_day_splits_at_utc_midnight(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.lockouts_by_day(con, WINDOW)
    # the day window is whole UTC days: 11-27 00:00 to 11-29 00:00, so erin (11-28 12:00) and
    # frank (11-27 11:59:59.999) are in it
    assert rows(frame, "bucket", "count") == [
        (pd.Timestamp("2026-11-27", tz="UTC"), 2),
        (pd.Timestamp("2026-11-28", tz="UTC"), 5),
    ]
    assert frame.baseline_mean.tolist() == [pytest.approx(1 / 3)] * 2


def test_top_locked_users_orders_ties_by_login(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.top_locked_users(con, WINDOW, limit=3)
    assert rows(frame, "user_login", "lockouts", "ips") == [
        ("alice@example.com", 2, 1),
        ("bob@example.com", 1, 1),
        ("carol@example.com", 1, 1),
    ]
    assert frame.last_lockout[0] == pd.Timestamp("2026-11-28 09:40", tz="UTC")
    assert frame.last_country[1] == "Germany"


@pytest.mark.parametrize(
    ("by", "columns", "expected"),
    [
        (
            "ip",
            ("ip", "as_org", "lockouts", "users"),
            [(IP_A, "comcast", 3, 2), (IP_B, "dtag", 2, 2)],
        ),
        ("asn", ("as_number", "lockouts", "ips"), [(7922, 3, 1), (3320, 2, 1)]),
        ("country", ("country", "percent"), [("United States", 60.0), ("Germany", 40.0)]),
    ],
)
def test_lockouts_by_source(
    con: duckdb.DuckDBPyConnection, by: Any, columns: tuple[str, ...], expected: list[Any]
) -> None:
    assert rows(analysis.lockouts_by_source(con, WINDOW, by=by), *columns) == expected


def test_lockouts_by_source_rejects_unknown_grouping(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="ip, asn, country"):
        analysis.lockouts_by_source(con, WINDOW, by="city")  # type: ignore[arg-type]


def test_repeat_lockouts_counts_the_baseline(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.repeat_lockouts(con, WINDOW)
    assert rows(frame, "user_login", "lockouts", "baseline_lockouts", "days_with_lockouts") == [
        ("alice@example.com", 2, 1, 2)
    ]
    assert len(analysis.repeat_lockouts(con, WINDOW, min_lockouts=1)) == 4


def test_lockout_episodes_pair_locks_with_the_next_unlock(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.lockout_episodes(con, WINDOW)
    assert rows(frame, "user_login", "lockouts", "unlocked_by", "minutes") == [
        ("carol@example.com", 1, "admin", 30.0),
        ("alice@example.com", 1, "admin", 15.0),
        ("bob@example.com", 1, None, 170.0),  # still locked: counted up to the window's end
        ("alice@example.com", 1, "automatic", 60.0),
        ("dave@example.com", 1, None, 0.0),
    ]


def test_unlock_delays_by_how_lockouts_ended(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.unlock_delays(con, WINDOW)
    columns = ("unlocked_by", "episodes", "median_minutes", "p90_minutes", "max_minutes")
    assert rows(frame, *columns) == [
        ("automatic", 1, 60.0, 60.0, 60.0),
        ("admin", 2, 22.5, 28.5, 30.0),
        ("still locked", 2, 85.0, 153.0, 170.0),
    ]


def test_lockout_summary(con: duckdb.DuckDBPyConnection) -> None:
    summary = analysis.lockout_summary(con, WINDOW)
    figures = summary.figures()
    assert {k: figures[k] for k in ("lockouts", "users", "ips", "top_user", "top_ip")} == {
        "lockouts": 5,
        "users": 4,
        "ips": 2,
        "top_user": "alice@example.com",
        "top_ip": IP_A,
    }
    # baseline periods (24 h each): 1 (alice, 11-25), 0, 1 (frank)
    assert figures["baseline_mean"] == pytest.approx(2 / 3)
    assert figures["baseline_std"] == pytest.approx(0.57735, abs=1e-5)
    assert figures["ratio"] == pytest.approx(7.5)
    assert figures["zscore"] == pytest.approx((5 - 2 / 3) / 0.57735, abs=1e-3)
    assert "5 lockouts of 4 users from 2 IPs" in str(summary)
    assert "7.5× normal" in str(summary)


# -- password spray -----------------------------------------------------------------------------

SPRAY_START = at("11-28 06:00")


def spray(ip: str, minutes: list[float], users: list[str]) -> list[dict[str, Any]]:
    return [
        lock(user, SPRAY_START + timedelta(minutes=m), ip=ip, user_agent="python-requests/2.31")
        for m, user in zip(minutes, users, strict=True)
    ]


SPRAYS = {
    # ip: (minutes after SPRAY_START, users, expected (users, burst minutes) or None)
    "192.0.2.1": ([0, 5, 10], ["a", "b", "c"], (3, 0, 10)),  # exactly 10 minutes: a spray
    "192.0.2.2": ([0, 5, 10 + 1 / 60000], ["a", "b", "c"], None),  # 10 min + 1 ms: not
    "192.0.2.3": ([0, 1, 2], ["a", "a", "a"], None),  # one user three times: not
    "192.0.2.4": ([0, 9, 12, 18], ["a", "b", "c", "d"], (3, 9, 18)),  # the best span wins
    "192.0.2.5": ([0, 1, 2, 3, 4], ["a", "b", "c", "d", "e"], (5, 0, 4)),
}


@pytest.fixture(scope="module")
def spray_con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    events = [e for ip, (m, u, _) in SPRAYS.items() for e in spray(ip, m, u)]
    return open_store(tmp_path_factory.mktemp("spray"), events)


def test_spray_candidates_boundaries(spray_con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.spray_candidates(spray_con, WINDOW, minutes=10, min_users=3)
    found = {
        row.ip: (
            row.users,
            (row.burst_start - SPRAY_START).total_seconds() / 60,
            round((row.burst_end - SPRAY_START).total_seconds() / 60, 3),
        )
        for row in frame.itertuples()
    }
    assert found == {ip: exp for ip, (_, _, exp) in SPRAYS.items() if exp is not None}
    assert frame.ip.tolist()[0] == "192.0.2.5"  # most users first
    assert frame.sample_users.tolist()[0] == "a, b, c, d, e"
    assert frame.user_agent.tolist()[0] == "python-requests/2.31"


@pytest.mark.parametrize(("min_users", "ips"), [(5, 1), (4, 1), (3, 3), (6, 0)])
def test_spray_candidates_min_users(
    spray_con: duckdb.DuckDBPyConnection, min_users: int, ips: int
) -> None:
    frame = analysis.spray_candidates(spray_con, WINDOW, minutes=10, min_users=min_users)
    assert len(frame) == ips


# -- assignment errors --------------------------------------------------------------------------


def test_assignment_errors_by_hour(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.assignment_errors_by_hour(con, WINDOW)
    counts = {b.strftime("%d %H"): c for b, c in zip(frame.bucket, frame["count"], strict=True)}
    assert {k: v for k, v in counts.items() if v} == {"27 15": 1, "28 08": 3, "28 09": 1}
    # hour 8 on the baseline days: 1 (11-25), 2 (11-26), 0 (11-27)
    assert frame.set_index(frame.bucket.dt.hour).loc[8, "baseline_mean"] == 1.0


def test_assignment_errors_by_day(con: duckdb.DuckDBPyConnection) -> None:
    assert analysis.assignment_errors_by_day(con, WINDOW)["count"].tolist() == [1, 4]


def test_errors_by_app(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.errors_by_app(con, WINDOW)
    assert rows(frame, "app_name", "errors", "users", "reasons", "top_reason") == [
        ("Salesforce.com", 4, 3, 2, "API rate limit exceeded"),
        ("Box", 1, 1, 1, "Matching user not found"),
    ]
    assert frame.baseline_expected.tolist() == [0.33, 0.0]  # 1 in 3 days → 1/3 per 24 h


def test_errors_by_reason(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.errors_by_reason(con, WINDOW)
    assert rows(frame, "reason", "errors", "apps", "users", "baseline_errors") == [
        ("API rate limit exceeded", 3, 1, 3, 0),
        ("Matching user not found", 2, 2, 2, 1),
    ]


def test_errors_by_user(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.errors_by_user(con, WINDOW, limit=3)
    assert rows(frame, "user_login", "errors", "apps", "last_reason") == [
        ("u1@example.com", 2, 1, "Matching user not found"),
        ("u2@example.com", 1, 1, "API rate limit exceeded"),
        ("u3@example.com", 1, 1, "API rate limit exceeded"),
    ]


def test_new_error_reasons(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.new_error_reasons(con, WINDOW)
    assert rows(frame, "reason", "errors", "users", "apps") == [
        ("API rate limit exceeded", 3, 3, "Salesforce.com")
    ]


@pytest.mark.parametrize(
    ("min_errors", "min_ratio", "expected"),
    [
        (3, 3.0, [("Salesforce.com", 4, 12.0)]),
        (5, 3.0, []),  # too few errors
        (3, 13.0, []),  # 4 errors is 12× the expected 1/3
        (1, 3.0, [("Box", 1, None), ("Salesforce.com", 4, 12.0)]),  # none before: first
    ],
)
def test_app_error_spikes(
    con: duckdb.DuckDBPyConnection, min_errors: int, min_ratio: float, expected: list[Any]
) -> None:
    frame = analysis.app_error_spikes(con, WINDOW, min_errors=min_errors, min_ratio=min_ratio)
    found = [
        (a, e, None if pd.isna(r) else r) for a, e, r in rows(frame, "app_name", "errors", "ratio")
    ]
    assert found == expected


def test_assignment_summary(con: duckdb.DuckDBPyConnection) -> None:
    summary = analysis.assignment_summary(con, WINDOW, min_errors=3)
    figures = summary.figures()
    assert {k: figures[k] for k in ("errors", "apps", "users", "reasons", "new_reasons")} == {
        "errors": 5,
        "apps": 2,
        "users": 4,
        "reasons": 2,
        "new_reasons": 1,
    }
    assert figures["spiking_apps"] == ["Salesforce.com"]
    assert (figures["top_app"], figures["top_app_errors"]) == ("Salesforce.com", 4)
    assert figures["top_reason"] == "API rate limit exceeded"
    # baseline periods: 1 (Salesforce 11-25), 2 (Slack 11-26), 0
    assert (figures["baseline_mean"], figures["baseline_std"]) == (1.0, 1.0)
    assert (figures["ratio"], figures["zscore"]) == (5.0, 4.0)


# -- overview, empty store, empty window ---------------------------------------------------------


def test_event_summary_and_types(con: duckdb.DuckDBPyConnection) -> None:
    summary = analysis.event_summary(con, WINDOW)
    # 5 lockouts, 4 unlocks, 5 failed and 1 successful assignment in the window
    assert (summary.events, summary.event_types) == (15, 5)
    assert (summary.first, summary.last) == (at("11-27 12:00"), at("11-28 12:00") - MS)
    frame = analysis.events_by_type(con, WINDOW)
    assert rows(frame, "event_type", "events", "failures")[:2] == [
        (PUSH, 5, 4),
        ("user.account.lock", 5, 5),
    ]


def test_view_columns_lists_the_contract(con: duckdb.DuckDBPyConnection) -> None:
    frame = analysis.view_columns(con)
    assert frame.column[frame.view == "events"].tolist()[:2] == ["uuid", "published"]
    added = frame.column[frame.view == "assignment_errors"].tolist()
    assert added == ["app_name", "app_id", "user_login", "reason", "reason_key", "app_key"]


FRAME_QUERIES: dict[str, Callable[..., pd.DataFrame]] = {
    name: getattr(analysis, name)
    for name in (
        "top_locked_users",
        "lockouts_by_source",
        "spray_candidates",
        "repeat_lockouts",
        "lockout_episodes",
        "unlock_delays",
        "errors_by_app",
        "errors_by_reason",
        "errors_by_user",
        "new_error_reasons",
        "app_error_spikes",
        "events_by_type",
    )
}
SERIES = ("lockouts_over_time", "assignment_errors_over_time", "events_over_time")
QUIET = make_window(datetime(2025, 6, 1, tzinfo=UTC), 24, 14)  # long before any test event


@pytest.mark.parametrize("name", FRAME_QUERIES)
@pytest.mark.parametrize("store", ["empty", "quiet window"])
def test_tables_are_empty_without_events(
    name: str, store: str, con: duckdb.DuckDBPyConnection, empty_con: duckdb.DuckDBPyConnection
) -> None:
    frame = FRAME_QUERIES[name](empty_con if store == "empty" else con, QUIET)
    assert isinstance(frame, pd.DataFrame)
    assert frame.empty


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("store", ["empty", "quiet window"])
def test_series_are_zero_filled_without_events(
    name: str, store: str, con: duckdb.DuckDBPyConnection, empty_con: duckdb.DuckDBPyConnection
) -> None:
    frame = getattr(analysis, name)(empty_con if store == "empty" else con, QUIET)
    assert len(frame) == 24 and frame["count"].sum() == 0
    assert frame.baseline_mean.tolist() == [0.0] * 24


def test_summaries_say_there_is_nothing_to_report(empty_con: duckdb.DuckDBPyConnection) -> None:
    lockouts = analysis.lockout_summary(empty_con, QUIET)
    errors = analysis.assignment_summary(empty_con, QUIET)
    events = analysis.event_summary(empty_con, QUIET)
    assert (lockouts.lockouts, lockouts.top_user, lockouts.baseline.ratio) == (0, None, None)
    assert (errors.errors, errors.top_app, errors.spiking_apps) == (0, None, ())
    assert str(lockouts).startswith("No lockouts in this window")
    assert str(errors).startswith("No assignment errors in this window")
    assert str(events).startswith("No events in this window")
    assert lockouts.figures()["zscore"] is None


def test_no_baseline_days(con: duckdb.DuckDBPyConnection) -> None:
    window = make_window(END, 24, 0)
    assert analysis.lockouts_over_time(con, window).baseline_mean.isna().all()
    summary = analysis.lockout_summary(con, window)
    assert (summary.baseline.mean, summary.baseline.periods) == (None, 0)
    assert "no baseline" in str(summary).lower()
    assert analysis.errors_by_app(con, window).baseline_expected.isna().all()


def test_late_arrival_of_old_events_is_counted(tmp_path: Path) -> None:
    first = [lock("x@example.com", at("11-28 10:00"))]
    late = [lock("y@example.com", at("11-27 13:00")), lock("z@example.com", at("11-25 13:00"))]
    con = open_store(tmp_path, first, late)
    assert analysis.lockout_summary(con, WINDOW).lockouts == 2
    assert analysis.repeat_lockouts(con, WINDOW, min_lockouts=1).user_login.tolist() == [
        "x@example.com",
        "y@example.com",
    ]


def test_window_queries_lists_every_query(con: duckdb.DuckDBPyConnection) -> None:
    for name in analysis.WINDOW_QUERIES:
        result = getattr(analysis, name)(con, WINDOW)
        assert isinstance(result, pd.DataFrame) or hasattr(result, "figures"), name
