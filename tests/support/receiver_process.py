"""Run the real receiver (`okta-alerts serve`, uvicorn) as a subprocess on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SECRET = "test-secret-0123456789"


@dataclass
class Receiver:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    @property
    def hook(self) -> str:
        return self.url + "/hooks/okta"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def receiver_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    env.update(
        OKTA_ALERTS_DATA_DIR=str(data_dir),
        OKTA_ALERTS_AUTH_SECRET=SECRET,
        OKTA_ALERTS_SEAL_SECONDS="0.5",
        OKTA_ALERTS_GRACE_SECONDS="0",
    )
    env.update({f"OKTA_ALERTS_{k.upper()}": v for k, v in settings.items()})
    return env


def start_receiver(
    data_dir: Path, port: int, log: Path, args: Sequence[str] = (), **settings: str
) -> Receiver:
    """Start ``okta-alerts serve`` (extra ``args``, ``settings`` as OKTA_ALERTS_* variables) and
    wait until it answers /healthz."""
    handle = open(log, "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "okta_alerts", "serve", "--port", str(port), *args],
        env=receiver_env(data_dir, **settings),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    receiver = Receiver(f"http://127.0.0.1:{port}", process, data_dir, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited {process.returncode}:\n{receiver.output()}")
        try:
            if httpx.get(receiver.url + "/healthz", timeout=1).status_code == 200:
                return receiver
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"receiver did not start in 20 s:\n{receiver.output()}")


def stop_receiver(receiver: Receiver, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if receiver.process.poll() is None:
        receiver.process.send_signal(sig)
        try:
            receiver.process.wait(timeout)
        except subprocess.TimeoutExpired:
            receiver.process.kill()
            receiver.process.wait(5)
    return receiver.process.returncode


@contextmanager
def running_receiver(
    data_dir: Path, port: int, log: Path, args: Sequence[str] = (), **settings: str
) -> Iterator[Receiver]:
    receiver = start_receiver(data_dir, port, log, args, **settings)
    try:
        yield receiver
    finally:
        stop_receiver(receiver)


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (from /proc: the children run in own sessions)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped has stopped running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to stop; return those still running."""
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive
