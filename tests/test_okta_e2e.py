"""From nothing to an active, verified hook and an all-✓ status, as a user runs it: the real
``okta-alerts serve`` process, the fake Okta, and each command as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.factories import make_event
from tests.support.fake_okta import TOKEN, FakeOkta
from tests.support.ports import free_port
from tests.support.receiver_process import SECRET, running_receiver

pytestmark = pytest.mark.slow


def okta_alerts(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    env["OKTA_ALERTS_AUTH_SECRET"] = SECRET  # the receiver's, as the README says
    return subprocess.run(
        [sys.executable, "-m", "okta_alerts", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_connect_then_status_from_nothing(tmp_path: Path) -> None:
    fake = FakeOkta().start()
    port = free_port()
    (tmp_path / "okta-token").write_text(TOKEN + "\n")
    (tmp_path / "okta-alerts.toml").write_text(
        f'data_dir = "{tmp_path / "data"}"\nport = {port}\nokta_org_url = "{fake.url}"\n'
        "seal_seconds = 0.5\n"
    )
    token = ("--token-file", "okta-token")
    outputs = []
    try:
        with running_receiver(tmp_path / "data", port, tmp_path / "serve.log") as receiver:
            first = okta_alerts(tmp_path, "okta", "connect", "--url", receiver.hook, *token)
            again = okta_alerts(tmp_path, "okta", "connect", "--url", receiver.hook, *token)
            outputs += [first.stdout + first.stderr, again.stdout + again.stderr]
            assert first.returncode == 0, outputs[0]
            assert "created the hook" in first.stdout and "verified it" in first.stdout
            assert again.returncode == 0 and "Nothing to change" in again.stdout

            now = datetime.now(UTC)
            fake.add([make_event("user.account.lock.limit", now - timedelta(minutes=20))])
            polled = okta_alerts(tmp_path, "poll", "--once", *token)
            assert polled.returncode == 0, polled.stderr
            lock = make_event("user.account.lock", now, result="FAILURE")
            assert fake.event_hooks.deliver([lock]) == [200]
            deadline = time.monotonic() + 30
            while (status := okta_alerts(tmp_path, "okta", "status", *token)).returncode != 0:
                assert time.monotonic() < deadline, status.stdout + status.stderr
                time.sleep(0.5)
            outputs.append(status.stdout + status.stderr)
            assert status.stdout.count("✓") == 9 and "✗" not in status.stdout
            log = receiver.output()
    finally:
        fake.stop()
    (hook,) = fake.event_hooks.hooks.values()
    assert (hook["status"], hook["verificationStatus"]) == ("ACTIVE", "VERIFIED")
    assert "poll_event_types" in (tmp_path / "okta-alerts.toml").read_text()
    for text in [*outputs, log, (tmp_path / "okta-alerts.toml").read_text()]:
        assert TOKEN not in text and SECRET not in text
