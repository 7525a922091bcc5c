"""Child processes of the bench: start on a loopback port, wait until healthy, measure, stop."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


class BenchError(Exception):
    """A benchmark could not run or its result is not trustworthy."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without ``OKTA_ALERTS_*`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    env.update(extra)
    return env


@contextmanager
def running(
    command: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    health_url: str,
    cwd: Path,
    start_timeout: float = 60.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait until ``health_url`` answers 200, and always kill it at the end."""
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        wait_healthy(process, health_url, log, start_timeout)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{url} exited {process.returncode}: {tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s: {tail(log)}")


def stop(process: subprocess.Popen[bytes], timeout: float) -> tuple[float, int]:
    """SIGTERM ``process`` and wait for it, killing it after ``timeout``.

    Returns the seconds it took and the highest peak RSS (``VmHWM``) seen while it stopped.
    """
    started = time.monotonic()
    peak = 0
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        deadline = started + timeout
        while process.poll() is None:
            with contextlib.suppress(BenchError, OSError):
                peak = max(peak, peak_rss_bytes(process.pid))
            if time.monotonic() > deadline:
                process.kill()
                process.wait(10)
                raise BenchError(f"pid {process.pid} did not stop within {timeout:.0f} s")
            time.sleep(0.2)
    if process.returncode not in (0, -signal.SIGTERM):  # uvicorn re-raises SIGTERM once done
        raise BenchError(f"pid {process.pid} exited {process.returncode}")
    return time.monotonic() - started, peak


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the receiver's front processes), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int(_stat_fields(int(entry.name))[1])
                children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [pid], [pid]
    while todo:
        found = children.get(todo.pop(), [])
        tree += found
        todo += found
    return tree


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set size so far (``VmHWM``) of ``pid`` plus each of its descendants.

    The sum of each process's own peak: an upper bound of the tree's peak, never below it.
    """
    total = _vm_hwm(pid)  # the server itself must be there
    for child in process_tree(pid)[1:]:
        with contextlib.suppress(BenchError, OSError):  # it exited meanwhile
            total += _vm_hwm(child)
    return total


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmHWM for pid {pid}")


def tail(log: Path, size: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-size:]
    except FileNotFoundError:
        return "(no output)"


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and its descendants (all threads).

    Each live process counts its own time plus that of its children it has reaped, so a front
    process that exited still counts, once, in its parent's total.
    """
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):  # it exited meanwhile
            fields = _stat_fields(member)
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / CLOCK_TICKS


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name, from ``state`` on."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or waiting on I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished (waited-for) children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of the server, of finished children (wrk) and of the whole machine."""

    at: float
    server: float
    children: float
    machine: float

    @classmethod
    def take(cls, pid: int) -> CpuSample:
        return cls(
            time.monotonic(),
            process_cpu_seconds(pid),
            children_cpu_seconds(),
            machine_busy_seconds(),
        )

    def since(self, before: CpuSample) -> dict[str, float]:
        """Seconds used in between, and cores: the server, wrk, everyone else on the machine."""
        wall = self.at - before.at
        server = self.server - before.server
        wrk = self.children - before.children
        machine = self.machine - before.machine
        return {
            "server_s": round(server, 2),
            "wrk_s": round(wrk, 2),
            "server_cores": round(server / wall, 2),
            "wrk_cores": round(wrk / wall, 2),
            "other_processes_cores": round(max(0.0, machine - server - wrk) / wall, 2),
        }
