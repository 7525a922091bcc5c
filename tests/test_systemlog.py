"""The System Log client against the fake Okta on loopback: paging, rate limits, retries, auth."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okta_alerts.config import default_poll_event_types, load_settings
from okta_alerts.errors import ConfigError
from okta_alerts.okta.pages import PageEvents
from okta_alerts.systemlog.client import (
    SystemLogClient,
    SystemLogError,
    authorization,
    event_filter,
)
from tests.support.fake_okta import TOKEN, FakeOkta, sample_events

NOW = datetime.now(UTC)
SINCE, UNTIL = NOW - timedelta(days=1), NOW


@pytest.fixture
def okta(request: pytest.FixtureRequest) -> Iterator[FakeOkta]:
    """A started fake Okta; ``@pytest.mark.parametrize("okta", [{...}], indirect=True)`` sets
    its options."""
    options: dict[str, Any] = getattr(request, "param", {})
    fake = FakeOkta(sample_events(options.pop("count", 250), NOW), **options).start()
    yield fake
    fake.stop()


def client_for(fake: FakeOkta, token: str = TOKEN, **options: Any) -> SystemLogClient:
    options.setdefault("backoff_initial", 0.05)
    options.setdefault("backoff_max", 0.2)
    return SystemLogClient(fake.url, token, **options)


def fetch_all(client: SystemLogClient, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    url = client.first_url(SINCE, UNTIL, types)
    return [e for page in client.pages(url, max_pages=100) for e in page.events]


@pytest.mark.parametrize("okta", [{"count": 2500}], indirect=True)
def test_pages_follow_next_links_with_limit_1000_and_the_filter(okta: FakeOkta) -> None:
    types = default_poll_event_types()
    with client_for(okta) as client:
        events = fetch_all(client, types)
    expected = okta.matching(SINCE, UNTIL, types)
    assert [e["uuid"] for e in events] == sorted(
        expected, key=lambda u: next(e["published"] for _, e in okta.log if e["uuid"] == u)
    )
    assert len(expected) == 2000  # 4 of the 5 sample types are polled by default
    assert len(okta.requests) == 2
    first = okta.requests[0].params
    assert first["limit"] == "1000" and first["sortOrder"] == "ASCENDING"
    assert first["since"].endswith("Z") and first["until"].endswith("Z")
    assert 'eventType sw "application.provision.group_membership."' in first["filter"]
    assert "after" in okta.requests[1].params


@pytest.mark.parametrize("okta", [{"page_size": 40, "rate_limit": 3}], indirect=True)
def test_low_remaining_slows_the_client_before_it_is_throttled(okta: FakeOkta) -> None:
    with client_for(okta) as client:
        events = fetch_all(client)
        paced = client.stats.paced_seconds
    assert len(events) == 250
    assert len(okta.requests) == math.ceil(250 / 40)
    assert okta.throttled() == [], "pacing kept the client under the limit"
    per_second = Counter(int(r.at) for r in okta.requests)
    assert max(per_second.values()) <= 3
    assert len(per_second) >= 3, "the 7 requests were spread over at least 3 rate windows"
    assert paced > 0


@pytest.mark.parametrize("okta", [{"page_size": 50, "throttle_every": 3}], indirect=True)
def test_429_waits_until_the_reset_and_does_not_fail(okta: FakeOkta) -> None:
    with client_for(okta) as client:
        events = fetch_all(client)
        assert client.stats.throttled == len(okta.throttled()) >= 2
    assert {e["uuid"] for e in events} == okta.matching(SINCE, UNTIL)
    for index, seen in enumerate(okta.requests[:-1]):
        if seen.status == 429:
            assert seen.reset is not None
            assert okta.requests[index + 1].at >= seen.reset, "retried before the reset"


@pytest.mark.parametrize(
    "okta",
    [{"page_size": 40, "fail_every": 3}, {"page_size": 100, "slow_every": 2, "slow_seconds": 1.0}],
    indirect=True,
    ids=["500-E0000009", "timeout"],
)
def test_5xx_and_timeouts_are_retried(okta: FakeOkta) -> None:
    with client_for(okta, timeout=0.4) as client:
        events = fetch_all(client)
        assert client.stats.retried >= 1
    assert sorted(e["uuid"] for e in events) == sorted(okta.matching(SINCE, UNTIL))


@pytest.mark.parametrize("okta", [{"fail_every": 1}], indirect=True)
def test_persistent_5xx_gives_up_with_a_clear_message(okta: FakeOkta) -> None:
    with client_for(okta, max_attempts=3) as client, pytest.raises(SystemLogError) as caught:
        fetch_all(client)
    assert "kept failing (HTTP 500 E0000009" in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    assert len(okta.requests) == 3


def test_since_older_than_180_days_is_refused(okta: FakeOkta) -> None:
    with client_for(okta) as client:
        with pytest.raises(SystemLogError, match="more than 180 days ago"):
            client.first_url(NOW - timedelta(days=181))
        assert okta.requests == [], "refused before asking Okta"
        url = f"{okta.url}/api/v1/logs?since=2020-01-01T00:00:00.000Z&until=2020-02-01T00:00:00Z"
        with pytest.raises(SystemLogError, match=r"HTTP 400 \(E0000001: Api validation failed"):
            client.fetch(url)


def test_a_wrong_token_is_named_but_never_shown(
    okta: FakeOkta, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "00wrong-token-abcdef0123456789"
    caplog.set_level(logging.DEBUG)
    with client_for(okta, token=wrong) as client, pytest.raises(SystemLogError) as caught:
        fetch_all(client)
    message = str(caught.value)
    assert "HTTP 401 (E0000011: Invalid token provided)" in message
    assert "OKTA_ALERTS_OKTA_API_TOKEN" in message
    assert wrong not in message and wrong not in caplog.text


@pytest.mark.parametrize(
    "okta", [{"page_size": 80, "throttle_every": 3, "fail_every": 5}], indirect=True
)
def test_the_token_is_in_no_log_line(okta: FakeOkta, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(okta) as client:
        fetch_all(client)
    assert "429" in caplog.text and "E0000009" in caplog.text, "the waits were logged"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in str(r.args) for r in caplog.records)


@pytest.mark.parametrize("okta", [{"page_size": 100, "foreign_next": True}], indirect=True)
def test_a_next_link_to_another_host_gets_no_token(okta: FakeOkta) -> None:
    with client_for(okta) as client, pytest.raises(SystemLogError, match="refusing to send"):
        fetch_all(client)
    assert len(okta.requests) == 1


@pytest.mark.parametrize(
    ("token", "scheme", "expected"),
    [
        ("00abcDEF", "auto", "SSWS 00abcDEF"),
        ("eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "auto", "Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"),
        ("00abcDEF", "Bearer", "Bearer 00abcDEF"),
        ("eyJa.b.c", "SSWS", "SSWS eyJa.b.c"),
    ],
)
def test_authorization_scheme(token: str, scheme: str, expected: str) -> None:
    assert authorization(token, scheme) == expected


def test_event_filter() -> None:
    assert event_filter(["user.account.lock", "app.user_management*"]) == (
        'eventType eq "user.account.lock" or eventType sw "app.user_management"'
    )
    assert event_filter([]) is None


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.okta.com/", "https://acme.okta.com"),
        ("http://127.0.0.1:8999", "http://127.0.0.1:8999"),
        ("http://127.9.9.9", "http://127.9.9.9"),
        ("http://localhost:1234", "http://localhost:1234"),
        ("http://[::1]:1234/", "http://[::1]:1234"),
    ],
)
def test_org_url_accepts_https_and_loopback_http(url: str, expected: str) -> None:
    settings = load_settings(environ={"OKTA_ALERTS_OKTA_ORG_URL": url})
    assert settings.okta_org_url == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://acme.okta.com", "must use https"),
        ("http://10.0.0.1", "must use https"),
        ("http://127.0.0.1.nip.io", "must use https"),
        ("https://acme-admin.okta.com/admin/dashboard", "only the org's base URL"),
        ("acme.okta.com", "base URL such as https://acme.okta.com"),
    ],
)
def test_org_url_refuses_plain_http_and_paths(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"OKTA_ALERTS_OKTA_ORG_URL: .*{message}"):
        load_settings(environ={"OKTA_ALERTS_OKTA_ORG_URL": url})


def test_poll_settings() -> None:
    settings = load_settings(environ={})
    assert settings.poll_seconds == 0
    assert "user.account.lock.limit" in settings.poll_event_types  # not hook-eligible: polled
    assert "application.integration.general_failure" in settings.poll_event_types
    assert "user.session.start" not in settings.poll_event_types
    custom = load_settings(
        environ={"OKTA_ALERTS_POLL_EVENT_TYPES": "user.account.lock, application.provision.*"}
    )
    assert custom.poll_event_types == ("user.account.lock", "application.provision.*")
    with pytest.raises(ConfigError, match=r"POLL_EVENT_TYPES: .*'User\.Lock' is not an Okta"):
        load_settings(environ={"OKTA_ALERTS_POLL_EVENT_TYPES": "user.account.lock,User.Lock"})
    secret = load_settings(environ={"OKTA_ALERTS_OKTA_API_TOKEN": TOKEN})
    assert TOKEN not in repr(secret) and TOKEN not in str(secret.model_dump())


def test_a_page_keeps_good_events_as_sent_and_counts_the_malformed() -> None:
    good = (
        b'{"uuid": "a", "eventType": "user.account.lock",\n'
        b' "published": "2026-11-28T10:00:00.000Z"}'
    )
    body = (
        b"["
        + b", ".join(
            [
                good,
                b"null",
                b'{"uuid": "b", "eventType": "x"}',  # no published
                b'{"uuid": 7, "eventType": "x", "published": "2026-11-28T10:00:00Z"}',
                b'{"uuid": "c", "eventType": "x", "published": "yesterday"}',
                good,  # a repeat inside the page: kept once, not malformed
                b'{"uuid": "d", "eventType": "x", "published": "2026-11-28T11:00:00Z", "n": [1]}',
            ]
        )
        + b"]"
    )
    found = PageEvents(body)
    assert (found.size, found.bad) == (7, 4)
    assert [k for k, _ in found.keys] == ["a", "d"]
    assert found.raw[0] == good.replace(b"\n", b" ")  # the bytes Okta sent, on one line
    assert found.last_published == "2026-11-28T11:00:00Z"
    assert [e["uuid"] for e in found.batch("page-1").events] == ["a", "d"]


@pytest.mark.parametrize("body", [b'{"errorCode": "E0000001"}', b"[{", b"<html>"])
def test_a_page_that_is_not_a_json_array_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="not a JSON array"):
        PageEvents(body)
