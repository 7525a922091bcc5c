"""Soak: the receiver under steady load for minutes, with hostile clients beside it.

One ``okta-alerts serve`` with its default limits in a fresh data dir. Real deliveries come from
wrk (``hookload.lua``) in consecutive slices, each connection paced (``--soak-delay-ms``), each
slice with its own thread numbers so every delivery is unique; each slice gives its p50/p99 and
the exact count of acknowledgements. Beside it, hostile clients run the whole time:

- **stalled**: ``--stalled`` connections that send half a request head and then nothing (the
  receiver closes them at its header deadline; they reconnect at once);
- **oversized**: a client streaming a 1 MB header, again and again (431 expected);
- **garbage**: POSTs of random bytes, without credentials (401) and with them (400).

Every 2 s the receiver's RSS is sampled. At the end the receiver is stopped (SIGTERM: it seals
what it acknowledged) and the store is counted: every acknowledged delivery stored whole, each
uuid once (the ingest benchmark's durability rule). Writes ``bench/results/soak-*.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import AUTH_HEADER, count_stored, durability, target_command
from bench.payloads import EVENTS_PER_DELIVERY, build_templates, write_templates
from bench.processes import BenchError, clean_env, free_port, running, stop
from bench.results import ROOT, WORK, median
from bench.wrk import LoadResult, ensure_wrk, run_wrk

OKTA_TIMEOUT_S = 3.0  # Okta waits this long for an answer (docs/okta.md §2)


@dataclass(frozen=True)
class SoakConfig:
    seconds: int = 300
    slice_seconds: int = 30
    connections: int = 8
    threads: int = 2
    delay_ms: int = 100  # each connection's pause between deliveries
    stalled: int = 200
    seal_seconds: float = 1.0
    seed: int = 7


@dataclass
class Hostile:
    """What the hostile clients did and what they were answered."""

    answers: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    def note(self, kind: str, head: bytes) -> None:
        status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.1 ") else "closed"
        self.answers[f"{kind}:{status}"] += 1


def run_soak(config: SoakConfig) -> dict[str, Any]:
    """Run the soak; return the result body (slices, RSS series, hostile answers, durability)."""
    ensure_wrk()
    WORK.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="soak-", dir=WORK))
    try:
        templates = write_templates(build_templates(config.seed), root / "templates.bin")
        return _soak(config, templates, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _soak(config: SoakConfig, templates: Path, root: Path) -> dict[str, Any]:
    data_dir, port, secret = root / "data", free_port(), secrets.token_urlsafe(24)
    data_dir.mkdir()
    env = clean_env(
        {
            "OKTA_ALERTS_AUTH_SECRET": secret,
            "OKTA_ALERTS_SEAL_SECONDS": str(config.seal_seconds),
            "PYTHONPATH": str(ROOT),
        }
    )
    url = f"http://127.0.0.1:{port}"
    command = target_command("okta_alerts", data_dir, port)
    hostile = Hostile()
    with running(command, env, root / "server.log", url + "/healthz", root) as process:
        rss: list[tuple[float, float]] = []
        watchers = [
            threading.Thread(target=_sample_rss, args=(process.pid, rss, hostile.stop)),
            threading.Thread(target=_hostile, args=(port, secret, config, hostile)),
        ]
        for watcher in watchers:
            watcher.start()
        try:
            slices = _load(url, templates, secret, config)
        finally:
            hostile.stop.set()
            for watcher in watchers:
                watcher.join(30)
        refused = _refused(url)
        stop(process, 300)
    return summarize(slices, rss, hostile, refused, count_stored("okta_alerts", data_dir))


def _load(url: str, templates: Path, secret: str, config: SoakConfig) -> list[LoadResult]:
    slices, started = [], time.monotonic()
    while (left := config.seconds - (time.monotonic() - started)) >= 1:
        slices.append(
            run_wrk(
                url + "/hooks/okta",
                templates,
                AUTH_HEADER,
                secret,
                threads=config.threads,
                connections=config.connections,
                seconds=int(min(config.slice_seconds, left)),
                thread_base=len(slices) * config.threads,
                delay_ms=config.delay_ms,
            )
        )
    return slices


def _sample_rss(pid: int, samples: list[tuple[float, float]], done: threading.Event) -> None:
    started = time.monotonic()
    while not done.is_set():
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    megabytes = int(line.split()[1]) / 1024
                    samples.append((round(time.monotonic() - started, 1), round(megabytes, 1)))
        done.wait(2.0)


def _hostile(port: int, secret: str, config: SoakConfig, hostile: Hostile) -> None:
    asyncio.run(_hostile_clients(port, secret, config, hostile))


async def _hostile_clients(port: int, secret: str, config: SoakConfig, hostile: Hostile) -> None:
    tasks = [asyncio.create_task(_stalled(port, hostile)) for _ in range(config.stalled)]
    tasks.append(asyncio.create_task(_oversized(port, hostile)))
    tasks.append(asyncio.create_task(_garbage(port, secret, hostile)))
    while not hostile.stop.is_set():
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _answer(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        return await reader.read(64)
    return b""


async def _stalled(port: int, hostile: Hostile) -> None:
    """Half a request head, then silence, until the receiver closes it; then again."""
    while True:
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /hooks/okta HTTP/1.1\r\nHost: soak\r\nContent-Le")
            hostile.note("stalled", await _answer(reader))
            writer.close()
        await asyncio.sleep(0.05)


async def _oversized(port: int, hostile: Hostile) -> None:
    """A 1 MB header, streamed until the receiver answers."""
    chunk = b"a" * 65536
    while True:
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Big: ")
            with contextlib.suppress(OSError):
                for _ in range(16):
                    writer.write(chunk)
                    await writer.drain()
            hostile.note("oversized", await _answer(reader))
            writer.close()
        await asyncio.sleep(0.2)


async def _garbage(port: int, secret: str, hostile: Hostile) -> None:
    """Random bodies, without credentials and with them."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        while True:
            for kind, headers in (
                ("garbage-unauthenticated", {}),
                ("garbage", {AUTH_HEADER: secret}),
            ):
                body = os.urandom(2048)
                with contextlib.suppress(httpx.HTTPError):
                    answer = await client.post(
                        "/hooks/okta",
                        content=body,
                        headers={**headers, "Content-Type": "application/json"},
                    )
                    hostile.answers[f"{kind}:{answer.status_code}"] += 1
            await asyncio.sleep(0.1)


def _refused(url: str) -> dict[str, float]:
    """The receiver's own count of refused connections, by reason."""
    found: dict[str, float] = {}
    with contextlib.suppress(httpx.HTTPError):
        for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
            if line.startswith("okta_alerts_connections_refused_total{"):
                reason = line.split('reason="', 1)[1].split('"', 1)[0]
                found[reason] = float(line.rsplit(" ", 1)[1])
    return found


def summarize(
    slices: list[LoadResult],
    rss: list[tuple[float, float]],
    hostile: Hostile,
    refused: dict[str, float],
    stored: tuple[int, int],
) -> dict[str, Any]:
    """Per-slice latency, the RSS series, the hostile answers, and the durability check."""
    if not slices:
        raise BenchError("no load slice ran")
    total = LoadResult(
        seconds=sum(s.seconds for s in slices),
        sent=sum(s.sent for s in slices),
        acknowledged=sum(s.acknowledged for s in slices),
        non2xx=sum(s.non2xx for s in slices),
        socket_errors=dict(sum((Counter(s.socket_errors) for s in slices), Counter())),
        latency={},
    )
    p99 = [s.latency["p99"] for s in slices]
    memory = [m for _, m in rss]
    warm = memory[len(memory) // 4 :] or memory
    return {
        "slices": [
            {
                "seconds": round(s.seconds, 1),
                "acknowledged": s.acknowledged,
                "non2xx": s.non2xx,
                "p50_ms": round(s.latency["p50"] * 1000, 1),
                "p99_ms": round(s.latency["p99"] * 1000, 1),
                "max_ms": round(s.latency["max"] * 1000, 1),
            }
            for s in slices
        ],
        "deliveries_per_s": round(total.acknowledged / total.seconds, 1),
        "events_per_s": round(total.acknowledged * EVENTS_PER_DELIVERY / total.seconds),
        "p99_ms_worst_slice": round(max(p99) * 1000, 1),
        "p99_ms_median_slice": round(median(p99) * 1000, 1),
        "max_ms": round(max(s.latency["max"] for s in slices) * 1000, 1),
        "within_okta_timeout": max(s.latency["max"] for s in slices) < OKTA_TIMEOUT_S,
        "non2xx": total.non2xx,
        "socket_errors": total.socket_errors,
        "rss_mb": {
            "series": rss,
            "max": max(memory, default=None),
            "first_quarter_max": max(memory[: len(memory) // 4] or memory, default=None),
            "growth_after_warmup": round(warm[-1] - warm[0], 1) if warm else None,
        },
        "hostile_answers": dict(sorted(hostile.answers.items())),
        "connections_refused": refused,
        **durability(total, *stored),
    }


def soak_summary(body: dict[str, Any]) -> str:
    ok = "yes" if body["stored_ok"] else "NO"
    rss = body["rss_mb"]
    return (
        f"soak: {body['deliveries_per_s']} deliveries/s ({body['events_per_s']} events/s) over "
        f"{len(body['slices'])} slices; p99 {body['p99_ms_median_slice']} ms (worst slice "
        f"{body['p99_ms_worst_slice']} ms, max {body['max_ms']} ms); RSS max {rss['max']} MB, "
        f"growth after warm-up {rss['growth_after_warmup']} MB; hostile "
        f"{sum(body['hostile_answers'].values())} answered; every acknowledged event stored "
        f"once: {ok}"
    )


def config_dict(config: SoakConfig) -> dict[str, Any]:
    return asdict(config) | {"events_per_delivery": EVENTS_PER_DELIVERY, "load": "wrk, paced"}
