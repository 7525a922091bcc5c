"""Apprise end to end to a real HTTP catcher on loopback, state, and the ``alerts`` commands."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from okta_alerts.alerts.check import check_alerts, check_from_notebook
from okta_alerts.alerts.notify import Target, _collect, load_targets, send
from okta_alerts.alerts.state import open_state
from okta_alerts.cli import main
from okta_alerts.config import Settings
from tests.support.alerting import NOW, RULES, SPRAY_IP, lockout_storm
from tests.support.catcher import Catcher
from tests.support.ports import free_port
from tests.support.settings import make_settings

Fill = Callable[[list[dict[str, Any]]], int]


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


@pytest.fixture
def storm(fill_store: Fill) -> None:
    fill_store(lockout_storm(NOW))


def alert_settings(data_dir: Path, rules: Path, *urls: str, **extra: Any) -> Settings:
    return make_settings(data_dir, rules=rules, apprise_urls=" ".join(urls) or None, **extra)


@pytest.mark.slow
@pytest.mark.usefixtures("storm")
def test_one_digest_per_evaluation_with_counts_and_keys(
    data_dir: Path, rules_file: Path, catcher: Catcher
) -> None:
    settings = alert_settings(data_dir, rules_file, catcher.url)
    result = check_alerts(settings, now=NOW)
    assert result.ok and result.queued == 1 and result.pending == 0, result.summary()
    (body,) = catcher.wait_for(1)
    assert body["title"] == "Okta alerts: 2 firing"
    message = body["message"]
    assert "[CRITICAL] Password spray" in message and SPRAY_IP in message
    assert "12 accounts (12 lockouts)" in message
    assert "[HIGH] Okta lockout surge" in message and "normal" in message
    assert "Evaluated at 2026-11-30 12:00 UTC" in message
    (chart,) = body["attachments"]  # the chart of the most severe alert's view
    assert chart["filename"] == "lockouts.png"
    assert base64.b64decode(chart["base64"]).startswith(b"\x89PNG")
    again = check_alerts(settings, now=NOW + timedelta(minutes=1))  # same alerts, in cooldown
    assert (again.digest, len(again.evaluation.suppressed)) == (None, 2)
    assert len(catcher.wait_for(2, timeout=0.5)) == 1


@pytest.mark.slow
@pytest.mark.usefixtures("storm")
def test_failed_notification_stays_pending_and_is_sent_exactly_once(
    data_dir: Path, rules_file: Path, catcher: Catcher
) -> None:
    settings = alert_settings(data_dir, rules_file, catcher.url)
    catcher.stop()
    first = check_alerts(settings, now=NOW)
    assert not first.ok and first.pending == 1
    assert f"127.0.0.1:{catcher.port}/hook" in first.failures[0]
    catcher.start()
    second = check_alerts(settings, now=NOW + timedelta(minutes=5))
    assert second.ok and second.queued == 0 and second.pending == 0, second.summary()
    (body,) = catcher.wait_for(1)
    assert SPRAY_IP in body["message"] and "Evaluated at 2026-11-30 12:00 UTC" in body["message"]
    check_alerts(settings, now=NOW + timedelta(minutes=6))
    assert len(catcher.wait_for(2, timeout=0.5)) == 1
    with open_state(settings) as state:
        assert state.counts() == {"sent": 1}


@pytest.mark.slow
@pytest.mark.usefixtures("storm")
def test_partial_failure_is_retried_only_where_it_failed(
    data_dir: Path, rules_file: Path, catcher: Catcher
) -> None:
    second = Catcher(free_port())  # not started yet: down
    settings = alert_settings(data_dir, rules_file, catcher.url, second.url)
    try:
        result = check_alerts(settings, now=NOW)
        assert len(result.failures) == 1 and str(second.port) in result.failures[0]
        second.start()
        assert check_alerts(settings, now=NOW + timedelta(minutes=5)).ok
        assert (len(catcher.wait_for(1)), len(second.wait_for(1))) == (1, 1)
        assert len(catcher.wait_for(2, timeout=0.3)) == 1
    finally:
        second.stop()


def test_failed_target_is_named_with_its_secret_masked(data_dir: Path, rules_file: Path) -> None:
    port = free_port()
    settings = alert_settings(data_dir, rules_file, f"json://admin:s3cret-pw@127.0.0.1:{port}/x")
    (target,) = load_targets(settings)
    delivery = send([target], "t", "body")
    assert delivery.delivered == [] and "s3cret-pw" not in delivery.failures[0]
    assert f"127.0.0.1:{port}" in delivery.failures[0] and "****" in delivery.failures[0]


def test_the_attachment_arrives(data_dir: Path, rules_file: Path, catcher: Catcher) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    (target,) = load_targets(alert_settings(data_dir, rules_file, catcher.url))
    assert send([target], "t", "**b**", "markdown", attachment=("lockouts.png", png)).delivered
    (body,) = catcher.wait_for(1)
    (attachment,) = body["attachments"]
    assert attachment["filename"] == "lockouts.png"
    assert base64.b64decode(attachment["base64"]) == png


@pytest.mark.slow
def test_notify_tags_route_each_rule(
    data_dir: Path, rules_file: Path, catcher: Catcher, storm: None, tmp_path: Path
) -> None:
    security = Catcher(free_port())
    security.start()
    try:
        config = tmp_path / "apprise.yaml"
        config.write_text(f"urls:\n  - {catcher.url}\n  - {security.url}:\n    - tag: security\n")
        rules_file.write_text(RULES + "  notify_tags: [security]\n")  # on password-spray
        settings = make_settings(data_dir, rules=rules_file, apprise_config=config)
        assert check_alerts(settings, now=NOW).queued == 2
        (everyone,) = catcher.wait_for(1)
        (tagged,) = security.wait_for(1)
        assert "Password spray" not in everyone["message"]  # tagged rule: security only
        assert "Password spray" in tagged["message"] and "lockout surge" in tagged["message"]
    finally:
        security.stop()


@pytest.mark.parametrize(
    ("result", "delivered"),
    [(True, True), (False, False), (None, False), ("SUCCESS", True), ("PARTIAL", False),
     ("FAILURE", False), ("NOMATCH", False), ("TIMEOUT", False)],
)  # fmt: skip
def test_only_success_counts_as_delivered(result: Any, delivered: bool) -> None:
    from apprise import AppriseResult, AppriseResultStatus

    target = Target("abc", "JSON", "json://127.0.0.1/x", (), None)
    if isinstance(result, str):
        result = AppriseResult(status=AppriseResultStatus[result])
    outcome = _collect_for(target, result)
    assert (outcome.delivered == ["abc"]) is delivered
    assert bool(outcome.failures) is not delivered


def _collect_for(target: Target, result: Any) -> Any:
    from okta_alerts.alerts.notify import Delivery

    delivery = Delivery()
    _collect([target], result, delivery)
    return delivery


@pytest.mark.usefixtures("storm")
def test_dry_run_sends_and_records_nothing(
    data_dir: Path, rules_file: Path, catcher: Catcher
) -> None:
    settings = alert_settings(data_dir, rules_file, catcher.url)
    result = check_alerts(settings, now=NOW, dry_run=True)
    assert result.digest is not None and SPRAY_IP in result.digest.body
    assert not settings.state_path.exists() and catcher.wait_for(1, timeout=0.3) == []


@pytest.mark.slow
@pytest.mark.usefixtures("storm")
def test_resolved_message_is_sent_once(data_dir: Path, rules_file: Path, catcher: Catcher) -> None:
    settings = alert_settings(data_dir, rules_file, catcher.url)
    check_alerts(settings, now=NOW)
    check_alerts(settings, now=NOW + timedelta(hours=2))
    check_alerts(settings, now=NOW + timedelta(hours=3))
    bodies = catcher.wait_for(3, timeout=0.5)
    assert len(bodies) == 2
    assert bodies[1]["title"] == "Okta alerts: 0 firing, 2 resolved"
    message = bodies[1]["message"]
    assert "**[RESOLVED] Password spray**:\n- 203.0.113.66: open 12:00–14:00 UTC (2h)" in message
    assert "peak 12 accounts in 1h, 12 accounts in all" in message  # the final figures
    assert "**[RESOLVED] Okta lockout surge**: open 12:00–14:00 UTC (2h); peak 12" in message
    assert bodies[1]["type"] == "success"


@pytest.mark.slow
@pytest.mark.usefixtures("storm")
def test_notebook_entry_point(data_dir: Path, rules_file: Path, catcher: Catcher,
                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name in ("OKTA_ALERTS_CONFIG", "OKTA_ALERTS_RULES", "OKTA_ALERTS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OKTA_ALERTS_APPRISE_URLS", catcher.url)
    result = check_from_notebook(
        data_dir=str(data_dir), rules=str(rules_file), end="2026-11-30T12:00Z"
    )
    assert result.ok and "2 firing" in str(result)
    assert len(catcher.wait_for(1)) == 1


# -- the alerts commands ----------------------------------------------------------------------


def invoke(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"OKTA_ALERTS_CONFIG": None, **env})


@pytest.mark.slow
def test_alerts_commands(
    data_dir: Path, rules_file: Path, catcher: Catcher, fill_store: Fill
) -> None:
    fill_store(lockout_storm(datetime.now(UTC)))  # silences are real time: alert about now
    env = {"OKTA_ALERTS_DATA_DIR": str(data_dir), "OKTA_ALERTS_RULES": str(rules_file),
           "OKTA_ALERTS_APPRISE_URLS": catcher.url}  # fmt: skip
    dry = invoke(env, "alerts", "check", "--dry-run")
    assert dry.exit_code == 0 and SPRAY_IP in dry.output and "dry run" in dry.output
    silenced = invoke(env, "alerts", "silence", "password-spray", "--key", SPRAY_IP, "--for", "2h")
    assert silenced.exit_code == 0 and "until" in silenced.output
    listed = invoke(env, "alerts", "list")
    assert "silenced  password-spray [203.0.113.66]" in listed.output
    checked = invoke(env, "alerts", "check")
    assert checked.exit_code == 0, checked.output
    (body,) = catcher.wait_for(1)
    assert "Password spray" not in body["message"] and "lockout surge" in body["message"]
    listed = invoke(env, "alerts", "list")
    assert "HIGH     lockout-surge: 12 at last check" in listed.output
    assert invoke(env, "alerts", "silence", "nope", "--for", "1h").exit_code == 2
    assert invoke(env, "alerts", "silence", "password-spray", "--for", "soon").exit_code == 2
    tested = invoke(env, "alerts", "test-notify")
    assert tested.exit_code == 0 and tested.output.startswith("OK     JSON json://127.0.0.1")


@pytest.mark.usefixtures("storm")
def test_alerts_check_names_the_failed_target_and_exits_non_zero(
    data_dir: Path, rules_file: Path
) -> None:
    url = f"json://127.0.0.1:{free_port()}/down"
    env = {"OKTA_ALERTS_DATA_DIR": str(data_dir), "OKTA_ALERTS_RULES": str(rules_file),
           "OKTA_ALERTS_APPRISE_URLS": url}  # fmt: skip
    result = invoke(env, "alerts", "check", "--end", NOW.isoformat())
    assert result.exit_code == 4
    assert "could not deliver to JSON json://127.0.0.1" in result.output
    assert "stays pending" in result.output
    tested = invoke(env, "alerts", "test-notify")
    assert tested.exit_code == 4 and tested.output.startswith("FAILED JSON")


def test_alerts_check_without_targets_prints_the_digest(data_dir: Path, rules_file: Path,
                                                        storm: None) -> None:  # fmt: skip
    env = {"OKTA_ALERTS_DATA_DIR": str(data_dir), "OKTA_ALERTS_RULES": str(rules_file)}
    result = invoke(env, "alerts", "check", "--end", NOW.isoformat())
    assert result.exit_code == 0 and SPRAY_IP in result.output
    assert "no apprise targets configured" in result.output


# -- the digest's text ---------------------------------------------------------------------
