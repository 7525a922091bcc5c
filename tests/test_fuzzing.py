"""Property tests: whatever arrives, the receiver answers 200 or 4xx (never 5xx) and stores exactly
the events of the deliveries it answered 200, each uuid once; ingest files and System Log pages
made of the same events never fail, count every bad event and store the rest once.

Hypothesis runs derandomized with no example database (``tests/conftest.py``), and the examples
are bounded so the suite stays within its time budget. Each property runs its examples against
one receiver (or store), so copies of a uuid meet across deliveries.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import duckdb
import hypothesis
import msgspec

# Imported whole here: the store's threads may import numpy for the first time while hypothesis,
# running in a worker thread, looks it up in sys.modules and finds it half-initialized.
import numpy  # noqa: F401
import pytest
from hypothesis import given
from hypothesis import strategies as st

import okta_alerts
from okta_alerts.okta.delivery import Batch
from okta_alerts.okta.eventfiles import IngestReport, batches_from_files
from okta_alerts.okta.pages import PageEvents
from okta_alerts.store.manifest import read_manifest
from okta_alerts.store.writer import write_batches
from tests.support.fuzzing import envelope_texts, event_texts, mangled, uuids_of
from tests.support.inprocess import SECRET, InProcessReceiver
from tests.support.settings import make_settings

pytestmark = pytest.mark.fuzz

GOOD = {"Authorization": SECRET, "X-Okta-Org": "acme", "Content-Type": "application/json"}


@dataclass
class Ledger:
    """What was sent and answered, across the examples of one property."""

    answers: Counter[int] = field(default_factory=Counter)
    accepted: dict[str, str] = field(default_factory=dict)  # uuid -> the first copy's published

    def summary(self) -> str:
        tried = sum(self.answers.values())
        server_errors = sum(n for status, n in self.answers.items() if status >= 500)
        return (
            f"{tried} requests, {server_errors} 5xx, answers {dict(sorted(self.answers.items()))}"
        )


async def fuzz_receiver(
    app: InProcessReceiver, bodies: st.SearchStrategy[bytes], examples: int
) -> Ledger:
    """POST ``examples`` draws of ``bodies`` (1-3 per example) to the app; check each answer."""
    ledger = Ledger()

    async def post(body: bytes, headers: dict[str, str]) -> int:
        answer = await app.client.post("/hooks/okta", content=body, headers=headers)
        return answer.status_code

    @hypothesis.settings(max_examples=examples)
    @given(st.lists(bodies, min_size=1, max_size=3), st.sampled_from([*["good"] * 8, "401", "415"]))
    def run(batch: list[bytes], variant: str) -> None:
        headers = dict(GOOD)
        if variant == "401":
            headers["Authorization"] = "wrong"
        elif variant == "415":
            headers["Content-Type"] = "text/plain"
        for body in batch:
            status = anyio.from_thread.run(post, body, headers)
            ledger.answers[status] += 1
            assert status == 200 or 400 <= status < 500, f"{status} for {body[:200]!r}"
            if status == 200:
                for uuid, published in uuids_of(body).items():
                    ledger.accepted.setdefault(uuid, published)

    await anyio.to_thread.run_sync(run)
    return ledger


async def assert_stored_exactly(app: InProcessReceiver, ledger: Ledger) -> None:
    await app.sealed()
    con = okta_alerts.connect(app.settings.data_dir)
    try:
        rows = con.execute("SELECT uuid, count(*) FROM events GROUP BY uuid").fetchall()
    finally:
        con.close()
    stored = {uuid for uuid, _ in rows}
    assert all(n == 1 for _, n in rows), "each uuid once"
    assert stored <= set(ledger.accepted), "only accepted events are stored"
    # What is not stored is what compaction dropped: events published before the retention.
    missing = {uuid: ledger.accepted[uuid] for uuid in set(ledger.accepted) - stored}
    cutoff = datetime.now(UTC) - timedelta(days=app.settings.retention_days)
    assert all(expired(published, cutoff) for published in missing.values()), missing
    manifest = read_manifest(app.settings.events_dir)
    assert manifest.expired_events >= len(missing), "every dropped event is counted"


@pytest.mark.anyio
async def test_hook_deliveries_are_200_or_4xx_and_stored_exactly(
    receiver_app: InProcessReceiver,
) -> None:
    ledger = await fuzz_receiver(receiver_app, envelope_texts(), examples=900)
    await assert_stored_exactly(receiver_app, ledger)
    assert ledger.answers[200] > 20, ledger.summary()  # the generators reach the happy path
    print(f"\nfuzzing envelopes: {ledger.summary()}, {len(ledger.accepted)} uuids stored")


@pytest.mark.anyio
async def test_raw_bytes_are_200_or_4xx_and_stored_exactly(
    receiver_app: InProcessReceiver,
) -> None:
    ledger = await fuzz_receiver(receiver_app, mangled(), examples=500)
    await assert_stored_exactly(receiver_app, ledger)
    print(f"\nfuzzing raw bytes: {ledger.summary()}, {len(ledger.accepted)} uuids stored")


def expired(published: str, cutoff: datetime) -> bool:
    """``published`` read as the store reads it is before ``cutoff``."""
    row = duckdb.execute("SELECT try_cast(? AS TIMESTAMPTZ) < ?", [published, cutoff]).fetchone()
    return bool(row and row[0])


def uuid_of(text: bytes) -> str | None:
    try:
        value = msgspec.json.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    uuid = value.get("uuid") if isinstance(value, dict) else None
    return uuid if isinstance(uuid, str) else None


@given(st.lists(event_texts(), max_size=8))
@hypothesis.settings(max_examples=500)
def test_system_log_pages_never_fail_and_count_every_bad_event(texts: list[bytes]) -> None:
    found = PageEvents(b"[" + b",".join(t.replace(b"\n", b" ") for t in texts) + b"]")
    assert found.size == len(texts)
    good = found.size - found.bad
    assert len(found.keys) == len({uuid for uuid, _ in found.keys}) <= good
    assert {uuid for uuid, _ in found.keys} <= {uuid_of(t) for t in texts}


@given(st.binary(max_size=300) | envelope_texts())
@hypothesis.settings(max_examples=200)
def test_any_page_body_is_events_or_a_value_error(body: bytes) -> None:
    try:
        found = PageEvents(body)
    except ValueError:
        return
    assert found.size == len(found.keys) + found.bad + (found.size - found.bad - len(found.keys))


def test_ingest_files_never_fail_and_store_the_good_events_once(
    tmp_path: Path, data_dir: Path
) -> None:
    settings = make_settings(data_dir, retention_days=100_000)  # keep the 1970 events too
    batches: list[Batch] = []
    files = itertools.count()

    @hypothesis.settings(max_examples=200)
    @given(st.lists(event_texts() | envelope_texts(), min_size=1, max_size=6), st.booleans())
    def run(items: list[bytes], as_array: bool) -> None:
        path = tmp_path / f"items-{next(files)}.json"
        flat = [item.replace(b"\n", b" ") for item in items]
        path.write_bytes(b"[" + b",".join(flat) + b"]" if as_array else b"\n".join(flat) + b"\n")
        report = IngestReport()
        made = list(batches_from_files([path], report))
        kept = [uuid for batch in made for uuid in batch.uuids]
        assert len(kept) == len(set(kept)) <= report.events
        batches.extend(made)

    run()
    write_batches(settings, batches)
    con = okta_alerts.connect(settings.data_dir)
    rows = con.execute("SELECT uuid, count(*) FROM events GROUP BY uuid").fetchall()
    assert {u for u, _ in rows} == {u for b in batches for u in b.uuids}
    assert all(n == 1 for _, n in rows)
