"""A large, realistic store for the reader benchmark, built through the real writer.

About 33,000 simulated events of one day (background traffic plus a lockout storm, a password
spray and a provisioning outage) are replicated into journal-format NDJSON: every copy gets
fresh uuids and its ``published`` times shifted by whole days (plus 37 s per lap, so copies on
the same day interleave rather than line up). The journals are written a few days at a time;
after each round a :class:`~okta_alerts.store.StoreWriter` is opened, and its crash recovery
seals and compacts them exactly as after a crash; ``compact()`` then deletes the retired parts.
That time is the compaction throughput. Built stores are cached under ``bench/work/`` by scale.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from bench.processes import BenchError
from bench.results import WORK
from okta_alerts.config import Settings, load_settings
from okta_alerts.errors import OktaAlertsError
from okta_alerts.okta.columns import COLUMN_NAMES, extract_sql
from okta_alerts.okta.delivery import parse_delivery
from okta_alerts.sim.simulate import generate_events
from okta_alerts.store.compaction import MERGED_PARQUET
from okta_alerts.store.manifest import read_manifest
from okta_alerts.store.sealing import PART_PARQUET
from okta_alerts.store.writer import StoreWriter

FORMAT = 7  # bump when the recipe below changes: cached stores are rebuilt
DAYS = 30
SCENARIOS = ("lockout-storm", "password-spray", "provisioning-outage")
BASE_RATE_PER_HOUR = 1100.0  # about 33,000 events in the base day
USERS = 2000
RECORD_EVENTS = 50  # events per journal line, as in a delivery
ROUND_EVENTS = 200_000  # journals handed to the writer per round (whole days)
LAP_SHIFT_MS = 37_000
DAY_MS = 86_400_000
_MARK = re.compile(rb"@@bench-(uuid|published)@@")


@dataclass(frozen=True, slots=True)
class BaseEvent:
    """One simulated event serialized once, split around its uuid and published values."""

    pieces: tuple[bytes, bytes, bytes]
    uuid_first: bool
    published_ms: int
    uuid_tail: str  # "-xxxx-4xxx-8xxx-xxxxxxxxxxxx": the copy number goes in front


@dataclass(frozen=True)
class BuiltStore:
    data_dir: Path
    events: int
    start: datetime
    end: datetime
    info: dict[str, Any]


def store_dir(scale: int, days: int = DAYS) -> Path:
    suffix = "" if days == DAYS else f"-{days}d"
    return WORK / f"store-{scale}{suffix}-v{FORMAT}"


def build_store(scale: int, seed: int = 7, rebuild: bool = False, days: int = DAYS) -> BuiltStore:
    """The cached store of ``scale`` events over ``days`` days, built first if missing, stale
    or ``rebuild``."""
    folder = store_dir(scale, days)
    meta = folder / "build.json"
    if not rebuild and meta.exists():
        info = orjson.loads(meta.read_bytes())
        same = info.get("seed") == seed and info.get("writer") == writer_fingerprint()
        if same and read_manifest(folder / "data" / "events").rows == scale:
            return _built(folder, info | {"cached": True})
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    info = _build(folder / "data", scale, seed, days)
    meta.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    return _built(folder, info | {"cached": False})


def writer_fingerprint() -> str:
    """Changes when compaction writes different files: a cached store is then rebuilt."""
    parts = [extract_sql("source"), PART_PARQUET, MERGED_PARQUET, ",".join(COLUMN_NAMES)]
    recipe = "\n".join(parts)
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _built(folder: Path, info: dict[str, Any]) -> BuiltStore:
    return BuiltStore(
        folder / "data",
        info["events"],
        datetime.fromisoformat(info["start"]),
        datetime.fromisoformat(info["end"]),
        info,
    )


def bench_settings(data_dir: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={"data_dir": data_dir, "grace_seconds": 0, "retention_days": 3650},
    )


def _build(data_dir: Path, scale: int, seed: int, days: int = DAYS) -> dict[str, Any]:
    started = time.monotonic()
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=days + 1
    )
    base = base_events(seed, start)
    generated = time.monotonic()
    settings = bench_settings(data_dir)
    journal_dir = settings.events_dir / "journal"
    journal_dir.mkdir(parents=True)
    write_seconds = writer_seconds = 0.0
    for number, copies in enumerate(rounds(scale, len(base), days), start=1):
        began = time.monotonic()
        write_journal(journal_dir / f"{number:012d}.ndjson", base, copies, days)
        handed = time.monotonic()
        try:
            writer = StoreWriter(settings, "okta-alerts bench")  # recovery seals and compacts
            try:
                writer.compact()  # deletes the replaced parts (grace 0)
            finally:
                writer.close()
        except (duckdb.Error, OktaAlertsError) as exc:
            events = sum(take for _, take in copies)
            first_line = str(exc).splitlines()[0]
            raise BenchError(
                f"the store writer failed on round {number} ({events:,} events): {first_line}"
            ) from exc
        write_seconds += handed - began
        writer_seconds += time.monotonic() - handed
    stored = read_manifest(settings.events_dir).rows
    if stored != scale:
        raise BenchError(f"the writer stored {stored} of {scale} events")
    return {
        "seed": seed,
        "writer": writer_fingerprint(),
        "events": scale,
        "base_events": len(base),
        "start": start.isoformat(),
        "end": (start + timedelta(days=days)).isoformat(),
        "days": days,
        "generate_seconds": round(generated - started, 1),
        "journal_write_seconds": round(write_seconds, 1),
        "writer_seconds": round(writer_seconds, 1),
        "compaction_events_per_s": round(scale / writer_seconds),
        "build_seconds": round(time.monotonic() - started, 1),
    }


def base_events(seed: int, start: datetime) -> list[BaseEvent]:
    """One simulated day of events from ``start``, split for fast replication."""
    events = generate_events(
        seed, start, start + timedelta(days=1), SCENARIOS, BASE_RATE_PER_HOUR, USERS
    )
    return [split_event(event, index) for index, event in enumerate(events)]


def split_event(event: dict[str, Any], index: int) -> BaseEvent:
    marked = dict(event, uuid="@@bench-uuid@@", published="@@bench-published@@")
    parts = _MARK.split(orjson.dumps(marked))
    if len(parts) != 5:
        raise BenchError(f"event {index} does not serialize its uuid and published once")
    head, first, middle, _, tail = parts
    published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
    original = event["uuid"].replace("-", "").rjust(15, "0")
    return BaseEvent(
        (head, middle, tail),
        first == b"uuid",
        int(published.timestamp() * 1000),
        f"-{index >> 12 & 0xFFFF:04x}-4{index & 0xFFF:03x}-8{original[-15:-12]}-{original[-12:]}",
    )


def rounds(scale: int, base: int, days: int = DAYS) -> Iterator[list[tuple[int, int]]]:
    """Lists of (copy number, events it takes) for whole days, about ROUND_EVENTS per list.

    Each day gets ``scale / days`` events: whole copies of the base day, the last one sampled
    evenly across the day. Copy ``k`` lands on day ``k % days``, lap ``k // days``.
    """
    batch: list[tuple[int, int]] = []
    for day in range(days):
        left = scale // days + (1 if day < scale % days else 0)
        lap = 0
        while left > 0:
            take = min(base, left)
            batch.append((lap * days + day, take))
            left -= take
            lap += 1
        if sum(take for _, take in batch) >= ROUND_EVENTS:
            yield batch
            batch = []
    if batch:
        yield batch


def write_journal(
    path: Path, base: list[BaseEvent], copies: list[tuple[int, int]], days: int = DAYS
) -> int:
    """Write journal lines for ``copies``, one per delivery of RECORD_EVENTS events, exactly as
    the receiver does (``parse_delivery(body).record(...)``); return the events written."""
    stamps = TimestampCache()
    written = 0
    with open(path, "wb", buffering=1 << 22) as out:
        for copy, take in copies:
            shift = (copy % days) * DAY_MS + (copy // days) * LAP_SHIFT_MS
            prefix = f"{copy:08x}"
            chosen = (
                base if take == len(base) else [base[i * len(base) // take] for i in range(take)]
            )
            for first in range(0, take, RECORD_EVENTS):
                chunk = chosen[first : first + RECORD_EVENTS]
                events = [
                    render_event(e, prefix, stamps.format(e.published_ms + shift)) for e in chunk
                ]
                body = b'{"data":{"events":[' + b",".join(events) + b"]}}"
                received = datetime.fromtimestamp(
                    (chunk[-1].published_ms + shift + 2_000) / 1000, UTC
                )
                # <boot>.<number>.<lines>, as the writer's record ids (crash recovery counts lines)
                record = f"bench{copy}.{first}.{len(chunk)}"
                out.write(parse_delivery(body).record(record, received))
                written += len(chunk)
    return written


def render_event(event: BaseEvent, prefix: str, published: str) -> bytes:
    head, middle, tail = event.pieces
    uuid = (prefix + event.uuid_tail).encode()
    first, second = (uuid, published.encode()) if event.uuid_first else (published.encode(), uuid)
    return b"".join((head, first, middle, second, tail))


class TimestampCache:
    """Okta timestamps (``2026-01-01T00:00:00.000Z``) from epoch ms, formatting each second once."""

    def __init__(self) -> None:
        self._seconds: dict[int, str] = {}

    def format(self, ms: int) -> str:
        second, milli = divmod(ms, 1000)
        text = self._seconds.get(second)
        if text is None:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._seconds[second] = text
        return f"{text}.{milli:03d}Z"
