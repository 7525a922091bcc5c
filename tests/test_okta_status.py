"""``okta-alerts okta status``: all ✓ after ``okta connect`` and the first events, and a ✗ line
with what to do for each thing that is wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
from click.testing import CliRunner

from okta_alerts.cli import main
from okta_alerts.eventhooks.pipeline import BUDGET_WARNING, budget_check
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import write_batches
from okta_alerts.systemlog.cursors import POLL_FILE
from tests.support.factories import make_event
from tests.support.okta_world import World, wait_for


def lines(output: str) -> dict[str, str]:
    """The table's lines by check name: ``{"hook state": "✓ hook state ..."}``."""
    found = {}
    for line in output.splitlines():
        if line[:1] in "✓✗" and line[1:2] == " ":
            found[line[2:19].strip()] = line
    return found


def bring_events(world: World) -> None:
    """A poll of the System Log (a type the hook cannot deliver) and one hook delivery."""
    now = datetime.now(UTC)
    world.fake.add([make_event("user.account.lock.limit", now - timedelta(minutes=20))])
    polled = world.run("poll", "--once")
    assert polled.exit_code == 0, polled.output
    lock = make_event("user.account.lock", now - timedelta(seconds=5), result="FAILURE")
    assert world.fake.event_hooks.deliver([lock]) == [200]
    wait_for(lambda: "last hook delivery" in world.status().output)


def test_status_is_all_ok_after_connect_and_the_first_events(okta_world: World) -> None:
    assert okta_world.connect().exit_code == 0
    bring_events(okta_world)
    result = okta_world.status()
    assert result.exit_code == 0, result.output
    table = lines(result.output)
    assert list(table) == [
        "hook",
        "hook state",
        "hook types",
        "receiver",
        "hook deliveries",
        "delivery failures",
        "hook budget",
        "polling",
        "hook gaps",
    ]
    assert all(line.startswith("✓") for line in table.values()), result.output
    assert "ACTIVE and VERIFIED" in table["hook state"]
    assert "1 hook events in the last 24 h of Okta's 400,000" in table["hook budget"]
    body = json.loads(okta_world.status("--json").output)
    assert body["ok"] is True and len(body["checks"]) == 9


def test_before_connect_the_hook_is_missing_and_polling_is_off(okta_world: World) -> None:
    result = okta_world.status()
    assert result.exit_code == 7
    table = lines(result.output)
    assert table["hook"].startswith("✗ hook")
    assert "no event hook named 'okta-alerts'" in table["hook"]
    assert "→ run okta-alerts okta connect --url" in result.output
    assert table["polling"].startswith("✗") and "off, but" in table["polling"]
    assert table["receiver"].startswith("✓")
    assert "Error: hook: no event hook named 'okta-alerts'" in result.output


def test_each_problem_is_a_cross_with_its_fix(okta_world: World) -> None:
    now = datetime.now(UTC)
    assert okta_world.connect().exit_code == 0
    hook = okta_world.hook()
    hook["verificationStatus"] = "UNVERIFIED"
    hook["events"]["items"].remove("user.account.lock")
    okta_world.fake.add(
        [make_event("event_hook.delivery", now - timedelta(hours=h), result="FAILURE",
                    display_message="Event hook delivery failed") for h in (1, 2)]
    )  # fmt: skip
    okta_world.stop_receiver()
    settings = okta_world.settings()
    gap = make_event("user.account.lock", now - timedelta(minutes=30))
    hooked = make_event("user.account.unlock", now - timedelta(hours=2))
    write_batches(settings, [Batch("eventid-1", [hooked]), Batch("systemlog:poll:x:1", [gap])])
    stale = {"polled_at": (now - timedelta(hours=2)).isoformat(), "next": "", "seen": []}
    (okta_world.data_dir / POLL_FILE).write_bytes(orjson.dumps(stale))

    result = okta_world.status()
    assert result.exit_code == 7
    table = lines(result.output)
    assert "✗ hook state        ACTIVE and UNVERIFIED" in table["hook state"]
    assert "1 needed types not subscribed: user.account.lock" in table["hook types"]
    assert "not answering at http://127.0.0.1" in table["receiver"]
    assert "2 event_hook.delivery events in the last 24 h" in table["delivery failures"]
    assert "Event hook delivery failed" in table["delivery failures"]
    assert "last poll 2h ago" in table["polling"] and table["polling"].startswith("✗")
    assert "1 hook-eligible events in the last 24 h came only from polling" in table["hook gaps"]
    assert table["hook deliveries"].startswith("✓") and table["hook budget"].startswith("✓")
    for fix in ("→ start it: okta-alerts run", "→ Okta does not redeliver", "poller has stopped"):
        assert fix in result.output
    assert "Error: hook state: ACTIVE and UNVERIFIED" in result.output


def test_the_budget_turns_at_okta_s_warning() -> None:
    assert budget_check({"hook_events_24h": BUDGET_WARNING - 1}).ok
    over = budget_check({"hook_events_24h": BUDGET_WARNING})
    assert not over.ok and "280,000" in over.detail and "--filter" in over.fix


def test_without_a_token_status_says_which_scopes_it_needs(okta_world: World) -> None:
    result = CliRunner().invoke(main, ["okta", "status", "--config", str(okta_world.config)])
    assert result.exit_code == 7
    table = lines(result.output)
    assert "no Okta API token" in table["hook"]
    assert "okta.eventHooks.read and okta.logs.read" in result.output
    assert table["delivery failures"].startswith("✗")
