"""Shared fixtures: a fresh data dir, its settings, a store filled through the real write path."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from okta_alerts.config import Settings, load_settings
from okta_alerts.events import Batch
from okta_alerts.store import write_batches


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "seal_seconds": 0.5, "grace_seconds": 0}
    values.update(overrides)
    return load_settings(environ={}, overrides=values)


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- apprise end to end: a real HTTP catcher on loopback --------------------------------------


class Catcher:
    """Captures the JSON bodies POSTed to ``json://127.0.0.1:PORT/hook``; can go down and up."""

    def __init__(self, port: int) -> None:
        import threading

        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with catcher._lock:
                    catcher.bodies.append(body)
                self.send_response(catcher.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.bodies) < count:
            time.sleep(0.02)
        return list(self.bodies)


@pytest.fixture
def catcher() -> Iterable[Catcher]:
    """A started catcher; stopped at teardown whatever the test did."""
    found = Catcher(free_port())
    found.start()
    yield found
    found.stop()
