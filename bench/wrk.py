"""wrk, the HTTP load generator (Debian package ``wrk``), driven by ``bench/hookload.lua``."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.processes import BenchError

SCRIPT = Path(__file__).with_name("hookload.lua")
RESULT_PREFIX = "BENCH_RESULT "


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured; counts are exact (from the Lua script), latencies in seconds."""

    seconds: float
    sent: int
    acknowledged: int
    non2xx: int
    socket_errors: dict[str, int]
    latency: dict[str, float]

    @classmethod
    def from_wrk(cls, body: dict[str, Any]) -> LoadResult:
        return cls(
            seconds=body["duration_us"] / 1e6,
            sent=body["sent"],
            acknowledged=body["ok"],
            non2xx=body["non2xx"],
            socket_errors=dict(body["errors"]),
            latency={k: v / 1e6 for k, v in body["latency_us"].items()},
        )

    @property
    def deliveries_per_second(self) -> float:
        return self.acknowledged / self.seconds


def ensure_wrk() -> str:
    """The path of wrk, installing the Debian package first if it is missing (as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed: sudo apt-get install -y wrk")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise BenchError(f"apt-get install wrk failed: {done.stderr[-500:]}")
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is still missing after apt-get install")
    return found


def run_wrk(
    url: str,
    templates: Path,
    auth_header: str,
    secret: str,
    *,
    threads: int = 2,
    connections: int = 32,
    seconds: int = 20,
    timeout_seconds: int = 30,
    thread_base: int = 0,
    delay_ms: int = 0,
) -> LoadResult:
    """POST unique deliveries to ``url`` for ``seconds``; raise BenchError if wrk fails.

    ``thread_base`` offsets wrk's thread numbers (ids stay unique across runs on one store);
    ``delay_ms`` makes each connection wait that long between requests (a paced load).
    """
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_seconds}s",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(templates),
        auth_header,
    ]
    env = dict(
        os.environ,
        BENCH_AUTH_SECRET=secret,
        BENCH_THREAD_BASE=str(thread_base),
        BENCH_DELAY_MS=str(delay_ms),
    )
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + timeout_seconds + 60
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + timeout_seconds + 60} s") from None
    return parse_wrk_output(done.stdout, done.stderr, done.returncode)


def parse_wrk_output(stdout: str, stderr: str = "", returncode: int = 0) -> LoadResult:
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return LoadResult.from_wrk(orjson.loads(line[len(RESULT_PREFIX) :]))
    raise BenchError(f"wrk exited {returncode} without a result: {(stdout + stderr)[-1500:]}")
