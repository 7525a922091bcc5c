"""``okta-alerts okta connect`` against the fake Okta, which verifies the hook as Okta does: a
real GET to the receiver (running on a loopback port) with the challenge and the hook's headers."""

from __future__ import annotations

import logging
import tomllib

import pytest

from okta_alerts.eventhooks.needs import collect_needs
from okta_alerts.eventhooks.plan import make_plan
from okta_alerts.eventhooks.record import RECORD_FILE
from okta_alerts.okta.eventcatalog import load_catalog
from tests.support.factories import make_event
from tests.support.fake_okta import TOKEN
from tests.support.okta_world import OTHER_SECRET, SECRET, World


def polled(world: World) -> list[str]:
    return list(tomllib.loads(world.config.read_text())["poll_event_types"])


def test_connect_creates_verifies_activates_and_turns_on_polling(okta_world: World) -> None:
    result = okta_world.connect()
    assert result.exit_code == 0, result.output
    hook = okta_world.hook()
    assert (hook["status"], hook["verificationStatus"]) == ("ACTIVE", "VERIFIED")
    assert hook["name"] == "okta-alerts"
    config = hook["channel"]["config"]
    assert config["uri"] == okta_world.hook_url
    assert config["authScheme"] == {"type": "HEADER", "key": "Authorization", "value": SECRET}
    assert config["headers"] == [{"key": "X-Okta-Org", "value": "acme"}]
    (check,) = okta_world.fake.event_hooks.verifications
    assert check.ok and check.headers["Authorization"] == SECRET
    assert check.headers["X-Okta-Org"] == "acme" and check.headers["X-Okta-Verification-Challenge"]
    assert "created the hook" in result.output and "verified it" in result.output
    settings = tomllib.loads(okta_world.config.read_text())
    assert settings["poll_seconds"] == 60 and settings["port"] == okta_world.port
    assert "System Log polling: wrote poll_event_types and poll_seconds" in result.output


def test_only_hook_eligible_types_are_subscribed_and_the_rest_is_polled(
    okta_world: World,
) -> None:
    assert okta_world.connect().exit_code == 0
    catalog = load_catalog()
    subscribed = okta_world.hook()["events"]["items"]
    assert all(catalog.eligible(name) for name in subscribed)
    assert {"user.account.lock", "user.account.unlock", "application.user_membership.add"} <= set(
        subscribed
    )
    assert "user.session.start" in subscribed, "the shipped sign-in spray rules read it"
    assert not {"user.account.lock.limit", "event_hook.delivery"} & set(subscribed)
    plan = make_plan(collect_needs(okta_world.settings(), catalog), catalog)
    assert polled(okta_world) == list(plan.poll)
    assert {"user.account.lock.limit", "event_hook.delivery"} <= set(plan.not_eligible)
    assert "application.provision.group_membership.*" in plan.poll  # a family stays a family
    # The shipped hook-missed-events rule compares the hook with polling: the subscribed types
    # the hook_gaps view counts are polled too.
    assert set(plan.cross_checked) <= set(subscribed) and "user.account.lock" in plan.poll


def test_a_second_run_changes_nothing_and_says_so(okta_world: World) -> None:
    assert okta_world.connect().exit_code == 0
    changes = list(okta_world.fake.event_hooks.changes())
    config = okta_world.config.read_bytes()
    again = okta_world.connect()
    assert again.exit_code == 0, again.output
    assert "Nothing to change" in again.output and "unchanged: ACTIVE and VERIFIED" in again.output
    assert okta_world.fake.event_hooks.changes() == changes
    assert okta_world.config.read_bytes() == config


def test_a_changed_secret_is_sent_again_and_verified(okta_world: World) -> None:
    assert okta_world.connect().exit_code == 0
    okta_world.start_receiver(OTHER_SECRET)  # the receiver's secret was rotated
    result = okta_world.connect(secret=OTHER_SECRET)
    assert result.exit_code == 0, result.output
    assert "updated the hook: the secret (changed: resent)" in result.output
    hook = okta_world.hook()
    assert hook["channel"]["config"]["authScheme"]["value"] == OTHER_SECRET
    assert hook["verificationStatus"] == "VERIFIED"
    assert [c.ok for c in okta_world.fake.event_hooks.verifications] == [True, True]


def test_a_changed_url_updates_the_hook_and_verifies_it_again(okta_world: World) -> None:
    assert okta_world.connect().exit_code == 0
    moved = okta_world.hook_url.replace("127.0.0.1", "localhost")
    result = okta_world.connect(url=moved)
    assert result.exit_code == 0, result.output
    assert f"updated the hook: URL {okta_world.hook_url} -> {moved}" in result.output
    assert okta_world.hook()["channel"]["config"]["uri"] == moved
    assert okta_world.fake.event_hooks.verifications[-1].url == moved
    assert ("PUT", f"/api/v1/eventHooks/{okta_world.hook()['id']}") in (
        okta_world.fake.event_hooks.changes()
    )


def test_a_hook_made_by_hand_gets_the_secret_once(okta_world: World) -> None:
    assert okta_world.connect().exit_code == 0
    (okta_world.data_dir / RECORD_FILE).unlink()  # no record of what was set
    result = okta_world.connect()
    assert "updated the hook: the secret (not known here: resent)" in result.output
    assert "Nothing to change" in okta_world.connect().output


def test_a_wrong_secret_fails_verification_with_what_to_check(okta_world: World) -> None:
    result = okta_world.connect(secret=OTHER_SECRET)  # the receiver expects SECRET
    assert result.exit_code == 5
    message = " ".join(result.output.split())
    assert "Okta could not verify the event hook 'okta-alerts'" in message
    assert "E0000001: Api validation failed: eventHook: Unable to verify event hook" in message
    assert "From here the receiver refuses the headers this command sent (HTTP 401" in message
    assert "OKTA_ALERTS_AUTH_SECRET" in message and "run okta-alerts okta connect again" in message
    assert okta_world.hook()["verificationStatus"] == "UNVERIFIED"
    assert [c.status for c in okta_world.fake.event_hooks.verifications] == [401, 401]  # 1 retry
    assert OTHER_SECRET not in result.output


def test_an_unreachable_receiver_is_named(okta_world: World) -> None:
    okta_world.stop_receiver()
    result = okta_world.connect()
    assert result.exit_code == 5
    assert "From here it does not answer either" in result.output
    assert "start the receiver" in result.output


def test_dry_run_changes_nothing(okta_world: World) -> None:
    config = okta_world.config.read_bytes()
    result = okta_world.connect("--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was changed; it would have" in result.output
    assert "created the hook" in result.output
    assert "would write poll_event_types and poll_seconds" in result.output
    assert okta_world.fake.event_hooks.changes() == []
    assert okta_world.fake.event_hooks.hooks == {}
    assert okta_world.config.read_bytes() == config
    assert not (okta_world.data_dir / RECORD_FILE).exists()


def test_dry_run_on_a_changed_secret_shows_the_update_only(okta_world: World) -> None:
    assert okta_world.connect().exit_code == 0
    changes = list(okta_world.fake.event_hooks.changes())
    result = okta_world.connect("--dry-run", secret=OTHER_SECRET)
    assert "updated the hook: the secret (changed: resent)" in result.output
    assert okta_world.fake.event_hooks.changes() == changes


def test_filter_sends_only_assignment_failures(okta_world: World) -> None:
    result = okta_world.connect("--filter")
    assert result.exit_code == 0, result.output
    filters = okta_world.hook()["events"]["filter"]["eventFilterMap"]
    filtered = {f["event"] for f in filters}
    assert "application.user_membership.add" in filtered and "user.account.lock" not in filtered
    assert {f["condition"]["expression"] for f in filters} == {"event.outcome.result eq 'FAILURE'"}
    assert not filtered & set(polled(okta_world))  # polling them would count successes as gaps
    events = [
        make_event("application.user_membership.add", result="SUCCESS"),
        make_event("application.user_membership.add", result="FAILURE"),
        make_event("user.account.lock", result="FAILURE"),
    ]
    assert okta_world.fake.event_hooks.deliver(events) == [200]


def test_http_urls_are_refused_except_on_loopback(okta_world: World) -> None:
    result = okta_world.connect(url="http://alerts.example.com/hooks/okta")
    assert result.exit_code == 2
    assert "--url must use https" in result.output
    assert okta_world.fake.event_hooks.calls == []


def test_a_token_that_may_only_read_is_told_the_scope_it_needs(okta_world: World) -> None:
    okta_world.fake.event_hooks.read_only = True
    result = okta_world.connect()
    assert result.exit_code == 5
    assert "E0000006" in result.output and "okta.eventHooks.manage" in result.output


def test_the_token_and_the_secret_are_in_no_output_log_or_file(
    okta_world: World, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    okta_world.connect("--dry-run")
    okta_world.connect()
    okta_world.connect(secret=OTHER_SECRET)  # a failed verification
    okta_world.status()
    okta_world.status("--json")
    captured = capfd.readouterr()
    files = [p.read_text(errors="replace") for p in okta_world.root.rglob("*") if p.is_file()]
    everything = "\n".join([*okta_world.outputs, caplog.text, captured.out, captured.err, *files])
    assert "okta-alerts" in everything and len(okta_world.outputs) == 5
    for secret in (TOKEN, SECRET, OTHER_SECRET):
        assert secret not in everything
