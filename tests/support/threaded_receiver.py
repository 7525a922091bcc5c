"""The real receiver app under uvicorn on a loopback port, in a thread of the test process.

For tests that need a real HTTP server (Okta's verification GET, hook deliveries) without the
start-up time of a process. It takes the data dir's writer lock with the note ``okta-alerts
serve on 127.0.0.1:PORT``, as ``okta-alerts serve`` does, so hand-offs and ``okta status`` find
it the same way. ``tests/support/receiver_process.py`` starts the real command instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from okta_alerts.config import Settings
from okta_alerts.store.writer import StoreWriter
from receiver.app import create_app
from receiver.auth import HookAuth


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """Serve ``settings`` (its port, secret and headers) until the block ends; yields the base
    URL. The store is sealed when it stops."""
    secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
    auth = HookAuth(settings.auth_header, secret, settings.custom_headers)
    writer = StoreWriter(settings, f"okta-alerts serve on 127.0.0.1:{settings.port}", threads=1)
    config = uvicorn.Config(
        create_app(settings, writer, auth),
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        writer.close(seal=True)
