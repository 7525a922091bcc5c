"""Columns from messy events, through the real store: published samples and Okta's "no value"
strings (``"null"``, ``"None"``, ``"unknown"``, ``""``) in the IP, zone and place fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import okta_alerts
from okta_alerts.config import Settings
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import open_writer, write_batches
from tests.support.factories import make_event
from tests.support.samples import sample_names, storable
from tests.support.settings import make_settings


def rows(settings: Settings) -> dict[str, dict[str, Any]]:
    con = okta_alerts.connect(settings.data_dir)
    try:
        cursor = con.execute("SELECT * FROM events")
        names = [d[0] for d in cursor.description or []]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}
    finally:
        con.close()


SAMPLE_COLUMNS: dict[str, dict[str, Any]] = {
    "app.oauth2.token.grant.access_token_zone-None-string__airbyte-source-okta.json": {
        "client_zone": None,  # the string "None"
        "client_ip": "0.0.0.0",
        "as_number": 0,
    },
    "group.application_assignment.add_client-all-null_JOB__airbyte-source-okta.json": {
        "client_ip": None,
        "client_zone": None,
        "transaction_type": "JOB",
    },
    "group.user_membership.add__xsoar-okta-readme.json": {
        "client_ip": "54.190.157.130",  # ipAddress first, the ipChain entry differs
        "client_zone": None,  # "null"
    },
    "group.user_membership.remove_ipChain-empty__xsoar-okta_v2-test_data.json": {
        "client_ip": "8.8.8.8",
    },
    "user.session.start_FAILURE_VERIFICATION_ERROR_actor-unknown_redacted__"
    "panther-okta_potentially_stolen_session.json": {
        "client_ip": "1.2.3.4",
        "geo_country": "Brazil",
        "actor_id": "unknown",
    },
    "user.session.start_FAILURE_VERIFICATION_ERROR__panther-okta_brute_force_logins.json": {
        # published with a space and nine fractional digits
        "published": datetime(2020, 11, 25, 21, 27, 3, 496000, tzinfo=UTC),
        "outcome_reason": "VERIFICATION_ERROR",
    },
}


@pytest.mark.parametrize("compacted", [False, True], ids=["segment", "daily"])
def test_published_samples_are_stored_with_the_right_columns(
    data_dir: Path, compacted: bool
) -> None:
    settings = make_settings(data_dir, retention_days=36_500)  # the samples are years old
    names = sample_names()
    events = [storable(name, number) for number, name in enumerate(names)]
    with open_writer(settings) as writer:
        writer.append_batch(Batch(None, events))
        writer.sync()
        path = writer.rotate()
        assert path is not None
        writer.seal(path)
        if compacted:
            writer.compact()
        stored = rows(settings)
    assert set(stored) == {e["uuid"] for e in events}
    for name, event in zip(names, events, strict=True):
        expected = SAMPLE_COLUMNS.get(name, {})
        got = stored[event["uuid"]]
        assert {k: got[k] for k in expected} == expected, name
        assert got["event_type"] == event["eventType"]


NO_VALUES = ["null", "NULL", "None", "unknown", "Unknown", "", "  "]


@pytest.mark.parametrize("word", NO_VALUES, ids=repr)
def test_no_value_strings_are_null_and_the_ip_falls_back_to_the_ip_chain(
    settings: Settings, word: str
) -> None:
    event = make_event(ip=word, uuid="no-value")
    event["client"]["zone"] = word
    place = event["client"]["geographicalContext"]
    place.update(city=word, state=word, country=word)
    event["request"] = {"ipChain": [{"ip": "198.51.100.20", "version": "V4"}]}
    write_batches(settings, [Batch(None, [event])])
    got = rows(settings)["no-value"]
    assert got["client_ip"] == "198.51.100.20"
    assert (got["client_zone"], got["geo_city"], got["geo_state"], got["geo_country"]) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("client", "request_", "expected"),
    [
        ({"ipAddress": "null"}, {"ipChain": [{"ip": "null"}]}, None),
        ({"ipAddress": "null", "ipChain": [{"ip": "198.51.100.9"}]}, {}, "198.51.100.9"),
        (
            {"ipAddress": "", "ipChain": [{"ip": "198.51.100.9"}]},
            {"ipChain": [{"ip": "unknown"}]},
            "198.51.100.9",
        ),
        ({"ipAddress": None}, {"ipChain": "198.51.100.1"}, None),  # not a list: no fallback
        ({"ipAddress": "203.0.113.5"}, {"ipChain": [{"ip": "198.51.100.1"}]}, "203.0.113.5"),
    ],
    ids=["all-null", "client-chain", "request-chain-unknown", "chain-not-a-list", "address-first"],
)
def test_client_ip_fallbacks(
    settings: Settings, client: dict[str, Any], request_: dict[str, Any], expected: str | None
) -> None:
    event = make_event(uuid="fallback")
    event["client"] = client
    event["request"] = request_
    write_batches(settings, [Batch(None, [event])])
    assert rows(settings)["fallback"]["client_ip"] == expected
