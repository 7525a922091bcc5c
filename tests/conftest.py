"""Fixtures: a fresh data dir and its settings, a store filled through the real write path, the
receiver's app in process, an apprise catcher, the fake Okta with a real receiver for the
``okta`` commands. The helpers behind them are in ``tests/support``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from okta_alerts.config import Settings
from okta_alerts.okta.delivery import Batch
from okta_alerts.store.writer import StoreWriter, write_batches
from receiver.app import create_app
from receiver.auth import HookAuth
from tests.support.catcher import Catcher
from tests.support.fake_okta import FakeOkta
from tests.support.inprocess import SECRET, InProcessReceiver
from tests.support.okta_world import World
from tests.support.ports import free_port
from tests.support.settings import make_settings

# Property tests are reproducible and bounded: the same examples on every run (no random seed, no
# example database), no per-example deadline on a shared 2-core machine; each test sets its own
# max_examples so the fuzzing stays within its share of the suite's time.
settings.register_profile(
    "okta-alerts",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("okta-alerts")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture
def fill_store(settings: Settings) -> Callable[[Iterable[dict[str, Any]]], int]:
    """Write events into the fixture's store through the writer path; returns events received."""

    def fill(events: Iterable[dict[str, Any]], batch_size: int = 500) -> int:
        events = list(events)
        batches = [
            Batch(None, events[i : i + batch_size]) for i in range(0, len(events), batch_size)
        ]
        return write_batches(settings, batches)

    return fill


@pytest.fixture
def catcher() -> Iterator[Catcher]:
    """A started apprise catcher on loopback; stopped at teardown whatever the test did."""
    found = Catcher(free_port())
    found.start()
    yield found
    found.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def receiver_app(data_dir: Path) -> AsyncIterator[InProcessReceiver]:
    """The receiver for a fresh data dir, called in process: auth header ``Authorization``, a
    custom header ``X-Okta-Org: acme``, 1 MB deliveries, sealing every 50 ms."""
    settings = make_settings(
        data_dir, seal_seconds=0.05, max_body_bytes=1_000_000, custom_headers={"X-Okta-Org": "acme"}
    )
    writer = StoreWriter(settings, owner="tests")
    auth = HookAuth(settings.auth_header, SECRET, settings.custom_headers)
    app = create_app(settings, writer, auth)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
                yield InProcessReceiver(client, settings)
    finally:
        writer.close()


@pytest.fixture
def okta_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The fake Okta, the real receiver on a loopback port (in a thread) and a settings file;
    commands run from ``tmp_path`` with no OKTA_ALERTS_* variable but the world's secrets."""
    for name in [n for n in os.environ if n.startswith("OKTA_ALERTS_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    world = World(tmp_path, FakeOkta().start())
    try:
        world.start_receiver()
        yield world
    finally:
        world.close()
