"""The parts of ``okta connect``: the needed types, the plan, the wanted hook and its differences,
the secret's fingerprint, and the edit of the settings file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from okta_alerts.config import load_settings
from okta_alerts.errors import ConfigError
from okta_alerts.eventhooks.hook import check_hook_url, desired_hook, differences
from okta_alerts.eventhooks.needs import Needs, collect_needs, named_types
from okta_alerts.eventhooks.plan import make_plan, polls_enough
from okta_alerts.eventhooks.pollconfig import apply_poll_settings, set_toml_keys
from okta_alerts.eventhooks.record import channel_unchanged, new_record
from okta_alerts.okta.eventcatalog import load_catalog

CATALOG = load_catalog()


def test_rules_and_sql_name_the_types_they_need(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- {id: sessions, view: events, kind: threshold, window: 1h, threshold: 1,\n"
        "   where: \"event_type = 'user.session.start' AND client_zone = 'acme.example'\"}\n"
        "- {id: integration, view: events, kind: absence, window: 1h,\n"
        "   where: \"starts_with(event_type, 'application.integration.')\"}\n"
        "- {id: off, view: events, kind: absence, window: 1h, enabled: false,\n"
        "   where: \"event_type = 'user.mfa.factor.deactivate'\"}\n"
    )
    settings = load_settings(environ={}, overrides={"rules": rules, "data_dir": tmp_path})
    needs = collect_needs(settings, CATALOG)
    assert needs.types["user.session.start"] == ["rule sessions"]
    assert needs.types["application.integration.*"] == ["rule integration"]
    assert "user.mfa.factor.deactivate" not in needs.types  # a disabled rule needs nothing
    assert needs.types["user.account.lock.limit"] == ["view lockouts"]
    assert needs.cross_check == []  # no rule reads hook_gaps
    where = "outcome_result = 'FAILURE' AND event_type LIKE 'user.account.%'"
    assert named_types(where, CATALOG) == ["user.account.*"]


def test_the_shipped_rules_need_event_hook_delivery_and_compare_hook_and_polling() -> None:
    needs = collect_needs(load_settings(environ={}), CATALOG)
    assert needs.types["event_hook.delivery"] == ["rule hook-delivery-failures"]
    assert needs.cross_check == ["rule hook-missed-events"]


def test_the_plan_splits_by_the_catalog() -> None:
    needs = Needs()
    needs.add(["user.account.lock", "user.account.lock.limit", "no.such.type"], "view x")
    needs.add(["application.provision.group.*", "app.user_management.user_group_import.*"], "y")
    plan = make_plan(needs, CATALOG)
    assert plan.subscribe == (
        "app.user_management.user_group_import.upsert_success",
        "user.account.lock",
    )
    assert "application.provision.group.*" in plan.not_eligible  # no member eligible: the family
    assert "app.user_management.user_group_import.upsert_fail" in plan.not_eligible
    assert plan.not_in_catalog == ("no.such.type",)
    assert set(plan.poll) == set(plan.not_eligible) | {"no.such.type"}
    assert polls_enough(("application.provision.*", "no.such.type"), plan.poll) == [
        "app.user_management.user_group_import.create_failure",
        "app.user_management.user_group_import.delete_success",
        "app.user_management.user_group_import.update_failure",
        "app.user_management.user_group_import.upsert_fail",
        "user.account.lock.limit",
    ]


def test_the_wanted_hook_and_what_differs(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"OKTA_ALERTS_AUTH_SECRET": "s3cret", "OKTA_ALERTS_DATA_DIR": str(tmp_path)}
    )
    needs = Needs()
    needs.add(["user.account.lock"], "view lockouts")
    plan = make_plan(needs, CATALOG)
    wanted = desired_hook("okta-alerts", "https://a.example/hooks/okta", settings, plan)
    assert wanted["events"] == {"type": "EVENT_TYPE", "items": ["user.account.lock"]}
    as_okta_answers = {
        **wanted,
        "channel": {
            "type": "HTTP",
            "version": "1.0.0",
            "config": {
                "uri": "https://a.example/hooks/okta",
                "headers": [],
                "method": "POST",
                "authScheme": {"type": "HEADER", "key": "authorization"},  # no value, lower case
            },
        },
    }
    assert differences(as_okta_answers, wanted) == []
    as_okta_answers["events"] = {"type": "EVENT_TYPE", "items": ["user.account.unlock"]}
    assert differences(as_okta_answers, wanted) == ["event types (+1 -1)"]


def test_the_record_keeps_a_fingerprint_never_the_secret() -> None:
    wanted = {"name": "h", "channel": {"config": {"uri": "u", "authScheme": {"value": "s3cret"}}}}
    record = new_record("https://org", {"id": "who1", "name": "h"}, wanted, "now")
    assert "s3cret" not in str(record)
    assert channel_unchanged(record, "https://org", "who1", wanted)
    rotated = {"name": "h", "channel": {"config": {"uri": "u", "authScheme": {"value": "new"}}}}
    assert not channel_unchanged(record, "https://org", "who1", rotated)
    assert not channel_unchanged(record, "https://org", "who2", wanted)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://alerts.example.com/hooks/okta", True),
        ("http://127.0.0.1:8080/hooks/okta", True),
        ("http://localhost:8080/hooks/okta", True),
        ("http://alerts.example.com/hooks/okta", False),
        ("ftp://alerts.example.com/", False),
        ("https://user:pw@alerts.example.com/hooks/okta", False),
    ],
)
def test_the_url_is_https_except_on_loopback(url: str, ok: bool) -> None:
    if ok:
        assert check_hook_url(url) == url
    else:
        with pytest.raises(ConfigError):
            check_hook_url(url)


def test_the_settings_file_keeps_everything_else() -> None:
    text = (
        "# my settings\n"
        'data_dir = "/var/lib/okta-alerts"\n'
        "poll_event_types = [\n"
        '    "user.account.lock",  # a comment\n'
        "]\n"
        "port = 9000\n"
        "\n[custom_headers]\n"
        'X-Okta-Org = "acme"\n'
    )
    values = {"poll_event_types": ["a.b", "c.d.*"], "poll_seconds": 60}
    edited = set_toml_keys(text, values)
    assert tomllib.loads(edited) == {
        "data_dir": "/var/lib/okta-alerts",
        "port": 9000,
        "custom_headers": {"X-Okta-Org": "acme"},
        **values,
    }
    assert edited.startswith("# my settings\n") and edited.endswith('X-Okta-Org = "acme"\n')
    assert set_toml_keys(edited, values) == edited
    assert tomllib.loads(set_toml_keys("", values)) == values


def test_polling_settings_the_file_cannot_take_are_printed(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    (tmp_path / "file").write_text("")
    change = apply_poll_settings(settings, ("a.b",), tmp_path / "file" / "x.toml", dry_run=False)
    assert change.action == "set by hand" and "could not be written" in change.reason
    assert change.lines == ['poll_event_types = [\n    "a.b",\n]\n', "poll_seconds = 60\n"]


def test_the_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_ALERTS_POLL_EVENT_TYPES", "user.account.lock")
    settings = load_settings(environ={}, overrides={"poll_seconds": 30})
    config = tmp_path / "okta-alerts.toml"
    change = apply_poll_settings(settings, ("a.b", "c.d"), config, dry_run=False)
    assert change.action == "set by hand" and "OKTA_ALERTS_POLL_EVENT_TYPES" in change.reason
    assert change.lines == ["OKTA_ALERTS_POLL_EVENT_TYPES=a.b,c.d\n"]
    assert not config.exists()
