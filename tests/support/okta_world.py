"""A user's setup for ``okta-alerts okta connect`` and ``okta status``: the fake Okta, a real
receiver on a loopback port, a settings file, and the commands run as a user runs them.

The settings file holds what a user would put there (data dir, port, org URL, a custom header,
sealing every 0.5 s); the secrets come from the environment, as the README advises. Every
command's output is kept in ``outputs`` so a test can check that no secret ever appears.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from okta_alerts.cli import main
from okta_alerts.config import Settings, load_settings
from tests.support.fake_okta import TOKEN, FakeOkta
from tests.support.ports import free_port
from tests.support.threaded_receiver import serving

SECRET = "hook-secret-7f3a9c1e5b2d48a6-SECRET"
OTHER_SECRET = "other-secret-2b8e4f6a1c9d3057-SECRET"


@dataclass
class World:
    root: Path
    fake: FakeOkta
    secret: str = SECRET
    port: int = field(default_factory=free_port)
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config = self.root / "okta-alerts.toml"
        self.config.write_text(
            f'data_dir = "{self.root / "data"}"\n'
            f"port = {self.port}\n"
            f'okta_org_url = "{self.fake.url}"\n'
            "seal_seconds = 0.5\n"
            "grace_seconds = 0\n"
            "\n[custom_headers]\n"
            'X-Okta-Org = "acme"\n'
        )
        self._receiver: contextlib.ExitStack | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/okta"

    def env(self, secret: str | None = None) -> dict[str, str]:
        return {
            "OKTA_ALERTS_AUTH_SECRET": secret or self.secret,
            "OKTA_ALERTS_OKTA_API_TOKEN": TOKEN,
        }

    def settings(self, secret: str | None = None) -> Settings:
        return load_settings(environ=self.env(secret), config_file=self.config)

    def run(self, *args: str, secret: str | None = None) -> Result:
        """``okta-alerts ARGS --config FILE`` with the secret and token in the environment."""
        result = CliRunner().invoke(
            main, [*args, "--config", str(self.config)], env=self.env(secret)
        )
        self.outputs.append(result.output)
        return result

    def connect(self, *args: str, url: str | None = None, secret: str | None = None) -> Result:
        return self.run("okta", "connect", "--url", url or self.hook_url, *args, secret=secret)

    def status(self, *args: str) -> Result:
        return self.run("okta", "status", *args)

    def start_receiver(self, secret: str | None = None) -> None:
        """The real receiver on ``port`` with ``secret`` (default: the world's)."""
        self.stop_receiver()
        self._receiver = contextlib.ExitStack()
        self._receiver.enter_context(serving(self.settings(secret)))

    def stop_receiver(self) -> None:
        if self._receiver is not None:
            self._receiver.close()
            self._receiver = None

    def hook(self) -> dict[str, Any]:
        """The one hook the fake Okta holds (its secret included)."""
        (hook,) = self.fake.event_hooks.hooks.values()
        return hook

    def close(self) -> None:
        self.stop_receiver()
        self.fake.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)
