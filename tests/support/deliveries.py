"""Many deliveries sent at once to a real receiver, and the check that each is stored whole."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import duckdb
import httpx
import orjson

import okta_alerts
from tests.support.factories import envelope, make_event
from tests.support.receiver_process import SECRET

HEADERS = {"Authorization": SECRET, "Content-Type": "application/json"}


def deliveries(count: int, size: int, tag: str) -> list[tuple[str, bytes, list[str]]]:
    out = []
    for i in range(count):
        events = [make_event(uuid=f"{tag}-{i}-{j}") for j in range(size)]
        out.append(
            (
                f"{tag}-{i}",
                orjson.dumps(envelope(events, event_id=f"{tag}-{i}")),
                [e["uuid"] for e in events],
            )
        )
    return out


async def send_all(
    url: str,
    items: list[tuple[str, bytes, list[str]]],
    concurrency: int,
    on_ack: object = None,
    pace: float = 0.0,
    headers: dict[str, str] = HEADERS,
) -> tuple[dict[str, float], list[str]]:
    """POST every delivery; return {delivery id: ack time} and the failures."""
    acked: dict[str, float] = {}
    failures: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(delivery_id: str, body: bytes) -> None:
            async with gate:
                try:
                    answer = await client.post(url, content=body, headers=headers)
                except httpx.TransportError as exc:
                    failures.append(f"{delivery_id}: {type(exc).__name__}")
                    return
                if answer.status_code == 200:
                    acked[delivery_id] = time.time()
                    if callable(on_ack):
                        on_ack(len(acked))
                else:
                    failures.append(f"{delivery_id}: {answer.status_code} {answer.text}")
                if pace:
                    await asyncio.sleep(pace)

        await asyncio.gather(*(one(d, b) for d, b, _ in items))
    return acked, failures


def assert_whole_deliveries(
    data: Path, items: list[tuple[str, bytes, list[str]]], acked: dict[str, float]
) -> duckdb.DuckDBPyConnection:
    """Every acknowledged delivery is stored whole; any other one whole or not at all."""
    con = okta_alerts.connect(data)
    stored = {u for (u,) in con.execute("SELECT uuid FROM events").fetchall()}
    for delivery_id, _, uuids in items:
        present = [u in stored for u in uuids]
        if delivery_id in acked:
            assert all(present), f"acknowledged {delivery_id} lost events"
        else:
            assert all(present) or not any(present), f"half of {delivery_id} stored"
    return con
