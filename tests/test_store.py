"""The store's writer path: extraction from messy events, duplicates, crashes, compaction."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import okta_alerts
from okta_alerts.config import Settings
from okta_alerts.errors import DeliveryError, StoreLockedError
from okta_alerts.okta.delivery import Batch, parse_delivery
from okta_alerts.store import compaction
from okta_alerts.store.journal import repair_tail
from okta_alerts.store.manifest import PART, FileEntry, read_manifest
from okta_alerts.store.writer import StoreWriter, open_writer, write_batches
from tests.support.factories import envelope, make_event
from tests.support.settings import make_settings


def count(settings: Settings, where: str = "true", view: str = "events") -> int:
    con = okta_alerts.connect(settings.data_dir)
    return con.execute(f"SELECT count(*) FROM {view} WHERE {where}").fetchone()[0]  # type: ignore[index]


def row(settings: Settings, uuid: str) -> dict[str, Any]:
    con = okta_alerts.connect(settings.data_dir)
    cursor = con.execute("SELECT * FROM events WHERE uuid = ?", [uuid])
    names = [d[0] for d in cursor.description or []]
    values = cursor.fetchone()
    assert values is not None, f"{uuid} not stored"
    return dict(zip(names, values, strict=True))


def seal(writer: StoreWriter, *batches: Batch) -> None:
    for batch in batches:
        writer.append_batch(batch)
    path = writer.rotate()
    assert path is not None
    writer.seal(path)


def _quirk(name: str) -> dict[str, Any]:
    event = make_event(uuid=f"quirk-{name}")
    if name == "ipchain-under-client":
        event["client"]["ipAddress"] = None
        event["client"]["ipChain"] = [{"ip": "198.51.100.9", "version": "V4"}]
        del event["request"]
    elif name == "ipchain-under-request":
        event["client"]["ipAddress"] = None
        event["request"] = {"ipChain": [{"ip": "198.51.100.10"}]}
    elif name == "target-null":
        event["target"] = None
    elif name == "version-number":
        event["version"] = 0
    elif name == "postal-code-number":
        event["client"]["geographicalContext"]["postalCode"] = 10013
    elif name == "zone-null-string":
        event["client"]["zone"] = "null"
    elif name == "extra-keys":
        event["insertionTimestamp"] = "2026-11-28T12:00:01Z"
        event["device"] = {"id": "guo1", "os_platform": "WINDOWS"}
    elif name == "unicode":
        event["actor"]["displayName"] = "Zoë Ångström 李雷 🚀"
        event["actor"]["alternateId"] = "zoë@example.com"
    elif name == "long-user-agent":
        event["client"]["userAgent"]["rawUserAgent"] = "Mozilla/5.0 " + "A" * 20_000
    elif name == "nulls-for-objects":
        event["client"] = None
        event["securityContext"] = None
        event["actor"] = None
        event["outcome"] = None
    elif name == "wrong-types":
        event["securityContext"] = {"asNumber": "7922", "isProxy": "true"}
        event["client"]["geographicalContext"]["geolocation"] = {"lat": "37.5", "lon": None}
        event["target"] = {"id": "not-a-list"}
    return event


QUIRKS: list[tuple[str, dict[str, Any]]] = [
    ("ipchain-under-client", {"client_ip": "198.51.100.9"}),
    ("ipchain-under-request", {"client_ip": "198.51.100.10"}),
    ("target-null", {"targets": None, "target_user_id": None, "target_app_name": None}),
    ("version-number", {"event_type": "user.session.start"}),
    ("postal-code-number", {"geo_country": "United States"}),
    ("zone-null-string", {"client_zone": None}),
    ("extra-keys", {"actor_alternate_id": "jane.doe@example.com"}),
    (
        "unicode",
        {"actor_display_name": "Zoë Ångström 李雷 🚀", "actor_alternate_id": "zoë@example.com"},
    ),
    ("long-user-agent", {"client_user_agent": "Mozilla/5.0 " + "A" * 20_000}),
    (
        "nulls-for-objects",
        {"client_ip": "203.0.113.7", "actor_id": None, "as_number": None, "outcome_result": None},
    ),
    (
        "wrong-types",
        {"as_number": 7922, "is_proxy": True, "geo_lat": 37.5, "geo_lon": None, "targets": None},
    ),
]


def test_payload_quirks_are_stored_with_the_right_columns(settings: Settings) -> None:
    events = [_quirk(name) for name, _ in QUIRKS]
    batch = parse_delivery(orjson.dumps(envelope(events, event_id="quirks")))
    with open_writer(settings) as writer:
        seal(writer, batch)
        for name, expected in QUIRKS:
            stored = row(settings, f"quirk-{name}")
            assert {k: stored[k] for k in expected} == expected, name
        writer.compact()
    for event, (name, expected) in zip(events, QUIRKS, strict=True):  # same after compaction
        stored = row(settings, f"quirk-{name}")
        assert {k: stored[k] for k in expected} == expected, name
        assert orjson.loads(stored["raw"]) == event


def test_targets_and_users_are_found_by_type_not_position(settings: Settings) -> None:
    event = make_event(
        "application.provision.user.push",
        app="Salesforce.com",
        app_id="0oa1",
        user="ann@example.com",
        user_type="AppUser",
        result="FAILURE",
    )
    event["target"].reverse()
    with open_writer(settings) as writer:
        seal(writer, Batch("d", [event]))
        stored = row(settings, event["uuid"])
    assert stored["target_app_name"] == "Salesforce.com"
    assert stored["target_app_id"] == "0oa1"
    assert stored["target_user_login"] == "ann@example.com"
    assert stored["published"] == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert stored["delivery_id"] == "d"


def test_duplicates_are_visible_once_across_parts_and_compaction(settings: Settings) -> None:
    events = [make_event(actor=f"u{i}@example.com") for i in range(10)]
    delivery = Batch("same", events)
    with open_writer(settings) as writer:
        seal(writer, delivery, delivery, delivery)  # one delivery sent 3 times
        assert count(settings) == 10
        seal(writer, Batch("other", [events[3], make_event()]))  # repeat lands in journal 2
        assert [p.rows for p in read_manifest(settings.events_dir).parts] == [10, 1]
        assert count(settings) == 11
        writer.compact()
        assert count(settings) == 11
        seal(writer, Batch("late", [events[0], events[9]]))  # retries after compaction
        assert count(settings) == 11
        writer.compact()
    assert count(settings) == 11
    con = okta_alerts.connect(settings.data_dir)
    assert con.execute("SELECT count(DISTINCT uuid) FROM events").fetchone() == (11,)
    first = con.execute("SELECT delivery_id FROM events WHERE uuid = ?", [events[3]["uuid"]])
    assert first.fetchone() == ("same",)


def test_a_delivery_repeating_an_event_inside_itself_stores_it_once(settings: Settings) -> None:
    event = make_event()
    batch = parse_delivery(orjson.dumps(envelope([event, event, make_event()])))
    assert len(batch.events) == 2
    with open_writer(settings) as writer:
        seal(writer, batch)
    assert count(settings) == 2


def test_a_second_writer_on_the_same_data_dir_is_refused(settings: Settings) -> None:
    with open_writer(settings, owner="first writer"), pytest.raises(StoreLockedError) as caught:
        StoreWriter(settings, owner="second writer")
    assert "first writer" in str(caught.value)
    assert "stop it first" in str(caught.value)


def test_a_hot_file_left_by_a_crash_is_recovered(settings: Settings) -> None:
    acknowledged = [make_event() for _ in range(20)]
    writer = StoreWriter(settings, owner="crashing")
    writer.append_batch(Batch("d1", acknowledged))
    writer.sync()
    journal = next((settings.events_dir / "journal").glob("*.ndjson"))
    writer.close(seal=False)  # the process died: nothing sealed, lock released by the kernel
    with open(journal, "ab") as handle:  # a write torn by the crash, never acknowledged
        handle.write(b'{"record": "torn", "delivery_id": null, "events": [{"uuid": "tor')
    (settings.events_dir / "journal" / journal.with_suffix(".keys").name).unlink(missing_ok=True)
    assert count(settings) == 0
    with open_writer(settings) as recovered:
        assert sum(r.stored for r in recovered.recovered) == 20
    assert count(settings) == 20
    assert list((settings.events_dir / "journal").glob("*.ndjson")) == []


@pytest.mark.parametrize("kept_lines", [0, 1, 7, 11])
def test_a_batch_cut_short_on_a_line_boundary_is_dropped_whole(
    settings: Settings, kept_lines: int
) -> None:
    first = Batch("d1", [make_event(uuid=f"whole-{i}") for i in range(5)])
    second = Batch("d2", [make_event(uuid=f"cut-{i}") for i in range(12)])
    writer = StoreWriter(settings, owner="crashing")
    writer.append_batch(first)
    whole = writer.journal_bytes
    writer.append_batch(second)
    writer.sync()
    journal = next((settings.events_dir / "journal").glob("*.ndjson"))
    writer.close(seal=False)
    lines = journal.read_bytes().splitlines(keepends=True)
    # the crash stopped the second batch's write after whole lines (never acknowledged)
    journal.write_bytes(b"".join(lines[: 5 + kept_lines]))
    assert repair_tail(journal) == whole
    with open_writer(settings):
        pass
    assert count(settings) == 5
    assert count(settings, "uuid LIKE 'cut-%'") == 0


def test_journals_of_an_older_release_are_repaired_line_by_line(tmp_path: Path) -> None:
    journal = tmp_path / "1.ndjson"
    lines = [b'{"record":"b.1","delivery_id":null,"event":{}}\n'] * 3
    journal.write_bytes(b"".join(lines) + b'{"record":"b.2","deliv')
    assert repair_tail(journal) == len(b"".join(lines))


def test_an_interrupted_compaction_is_rolled_back(settings: Settings) -> None:
    with open_writer(settings) as writer:
        seal(writer, Batch("d", [make_event() for _ in range(5)]))
    orphan = settings.events_dir / "parts" / "000000099999.parquet"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"PAR1 half written")
    with open_writer(settings):
        assert not orphan.exists()
    assert count(settings) == 5


def test_parts_merge_by_size_tier(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """FANOUT parts of one size tier become one part of the next tier, oldest first."""
    monkeypatch.setattr(compaction, "TIER_ROWS", 25)  # tiers: < 100 rows, < 400, < 1600
    start = datetime(2026, 11, 27, tzinfo=UTC)
    with open_writer(settings) as writer:
        for run in range(16):
            events = [
                make_event(uuid=f"run{run}-{i}", published=start + timedelta(minutes=run * 60 + i))
                for i in range(50)
            ]
            seal(writer, Batch("d", events))
            writer.compact()
            if run == 7:
                parts = writer.manifest.parts
                assert [(p.rows, p.level) for p in parts] == [(200, 1), (200, 1)]
        assert [(p.rows, p.level) for p in writer.manifest.parts] == [(800, 2)]
    (part,) = read_manifest(settings.events_dir).parts
    con = okta_alerts.connect(settings.data_dir)
    path = str(settings.events_dir / part.path)
    found = con.execute("SELECT min(published), max(published), count(DISTINCT uuid) FROM events")
    assert found.fetchone() == (start, start + timedelta(minutes=15 * 60 + 49), 800)
    assert (part.min_published, part.max_published) == (
        start.isoformat(),
        (start + timedelta(minutes=15 * 60 + 49)).isoformat(),
    )
    assert con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone() == (800,)


def test_a_merge_takes_a_whole_tier_up_to_full_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compaction, "FULL_ROWS", 100_000)

    def part(number: int, rows: int) -> FileEntry:
        return FileEntry(f"parts/{number:012d}.parquet", PART, rows, 1, "a", "b", "c")

    big = [part(n, 30_000) for n in (5, 3, 4, 2, 1)]  # one tier; three fit under FULL_ROWS
    assert [p.path[-10:-8] for p in compaction.mergeable(big)] == ["01", "02", "03"]
    assert compaction.mergeable([part(n, 20_000) for n in range(3)]) == [], "under FANOUT"
    assert compaction.mergeable([part(1, 90_000), part(2, 5), part(3, 90_000), part(4, 100)]) == []
    full = [part(n, 100_000) for n in range(8)] + [part(n + 8, 10) for n in range(4)]
    assert [p.rows for p in compaction.mergeable(full)] == [10] * 4, "full parts stay"


def test_compaction_retires_files_and_deletes_them_after_the_grace_period(data_dir: Path) -> None:
    settings = make_settings(data_dir, grace_seconds=3600)
    with open_writer(settings) as writer:
        for _ in range(compaction.FANOUT):
            seal(writer, Batch("d", [make_event() for _ in range(5)]))
        small = [settings.events_dir / p.path for p in writer.manifest.parts]
        reader = okta_alerts.connect(data_dir)
        writer.compact()
        assert [p.level for p in writer.manifest.parts] == [1]
        assert all(path.exists() for path in small), "replaced files stay for readers in flight"
        retired = sorted(r.path for r in writer.manifest.retired)
        assert retired == sorted(p.relative_to(settings.events_dir).as_posix() for p in small)
        assert reader.execute("SELECT count(*) FROM events").fetchone() == (20,)
    shorter = make_settings(data_dir, grace_seconds=0)
    with open_writer(shorter) as writer:
        writer.compact()
        assert not any(path.exists() for path in small)
        assert writer.manifest.retired == []


def test_compaction_drops_events_past_the_retention(data_dir: Path) -> None:
    settings = make_settings(data_dir, retention_days=30)
    now = datetime.now(UTC)
    old = [make_event(published=now - timedelta(days=40)) for _ in range(3)]
    recent = [make_event(published=now - timedelta(days=2)) for _ in range(4)]
    with open_writer(settings) as writer:
        seal(writer, Batch("d", old + recent))
        writer.compact()
    assert count(settings) == 4


def test_retention_trims_parts_and_counts_what_it_dropped(data_dir: Path) -> None:
    settings = make_settings(data_dir, retention_days=30)
    now = datetime.now(UTC)
    with open_writer(settings) as writer:
        seal(writer, Batch("d", [make_event(published=now - timedelta(days=2)) for _ in range(4)]))
        writer.compact()
        late = [make_event(published=now - timedelta(days=40)) for _ in range(3)]
        seal(writer, Batch("e", [*late, make_event(published=now - timedelta(hours=1))]))
        writer.compact()
        manifest = writer.manifest
    assert count(settings) == 5
    assert manifest.expired_events == 3
    assert all(p.min_published >= (now - timedelta(days=30)).isoformat() for p in manifest.parts)


def test_each_uuid_once_whatever_a_later_copy_carries(settings: Settings) -> None:
    """The first stored copy wins: a re-send with another published or another body is a repeat,
    before sealing, after sealing, after compaction and after a restart."""
    first = make_event(uuid="same-1", published=datetime(2026, 11, 27, 12, tzinfo=UTC))
    other_time = {**first, "published": "2026-11-29T08:00:00.000Z", "displayMessage": "changed"}
    with open_writer(settings) as writer:
        seal(writer, Batch("a", [first]))
        seal(writer, Batch("b", [other_time]))  # after sealing
        writer.compact()
        seal(writer, Batch("c", [other_time]))  # after compaction
    with open_writer(settings) as writer:
        seal(writer, Batch("d", [{**other_time, "published": "2025-01-01T00:00:00Z"}]))
        writer.compact()
    con = okta_alerts.connect(settings.data_dir)
    rows = con.execute("SELECT published, display_message FROM events WHERE uuid = 'same-1'")
    assert rows.fetchall() == [(datetime(2026, 11, 27, 12, tzinfo=UTC), first["displayMessage"])]


def test_a_store_of_an_earlier_release_gets_its_uuid_index(settings: Settings) -> None:
    """No index file (an earlier release's store): it is rebuilt from the published files."""
    event = make_event(uuid="old-1")
    write_batches(settings, [Batch("a", [event])])
    (settings.events_dir / "index.duckdb").unlink()
    write_batches(settings, [Batch("b", [{**event, "published": "2026-11-01T00:00:00Z"}])])
    assert count(settings, "uuid = 'old-1'") == 1


def test_index_rows_of_a_seal_the_manifest_never_published_are_forgotten(
    settings: Settings,
) -> None:
    """A crash after the index took a journal's uuids but before the manifest listed it: on
    start those uuids are forgotten, and the journal is sealed again, its events stored."""
    with open_writer(settings) as writer:
        writer.append_batch(Batch("a", [make_event(uuid="crash-1")]))
        writer.sync()
        journal = writer.rotate()
        assert journal is not None
        writer.index.db.execute("CREATE TEMP TABLE k2 AS SELECT 'crash-1' AS uuid, "
                                "now() AS published, false AS repeat")  # fmt: skip
        writer.index.add("k2", int(journal.stem))  # the index wrote; the manifest never did
        writer.close(seal=False)
    with open_writer(settings):
        pass
    assert count(settings, "uuid = 'crash-1'") == 1


def test_connect_on_a_data_dir_without_a_store_shows_empty_views(tmp_path: Path) -> None:
    con = okta_alerts.connect(tmp_path / "nothing-here")
    for view in ("events", "lockouts", "unlocks", "assignment_errors"):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
    assert not (tmp_path / "nothing-here").exists(), "readers never write"


def test_views_classify_event_types(settings: Settings, fill_store: Any) -> None:
    fill_store(
        [
            make_event("user.account.lock", result="FAILURE", reason="LOCKED_OUT"),
            make_event("user.account.lock.limit"),
            make_event("user.account.unlock"),
            make_event("user.account.unlock_by_admin"),
            make_event(
                "application.provision.user.push",
                result="FAILURE",
                app="Box",
                user="ann@example.com",
                reason="Matching user not found",
            ),
            make_event(
                "application.provision.user.push",
                result="SUCCESS",
                app="Box",
                user="bob@example.com",
            ),
            make_event("application.integration.rate_limit_exceeded", result="SUCCESS", app="Zoom"),
            make_event(
                "application.user_membership.add",
                result="FAILURE",
                app="Slack",
                display_message="Automatic provisioning of user Ann to app Slack failed: "
                "User already exists",
            ),
        ]
    )
    assert count(settings, view="lockouts") == 2
    assert count(settings, view="unlocks") == 2
    con = okta_alerts.connect(settings.data_dir)
    errors = con.execute(
        "SELECT app_name, user_login, reason FROM assignment_errors ORDER BY app_name"
    ).fetchall()
    assert errors == [
        ("Box", "ann@example.com", "Matching user not found"),
        ("Slack", "jane.doe@example.com", "User already exists"),
        ("Zoom", "jane.doe@example.com", "application.integration.rate_limit_exceeded"),
    ]


def test_journal_files_are_private(settings: Settings) -> None:
    with open_writer(settings) as writer:
        writer.append_batch(Batch("d", [make_event()]))
        writer.sync()
        journal = next((settings.events_dir / "journal").glob("*.ndjson"))
        assert os.stat(journal).st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("published", "accepted"),
    [
        ("2026-03-28T17:03:37.093Z", True),
        ("2026-03-28", True),
        ("2026-03-28 17:03:37.123456789+05:30", True),
        ("2026-03-28T17:03:37+0530", True),
        ("2026-03-28T17", False),
        ("2026-03-28T17:03:37,5Z", False),
        ("20230328T170337Z", False),
        ("2026-13-45T00:00:00Z", False),
        ("2026-03-28T25:00:00Z", False),
        ("2026-02-30T00:00:00Z", False),
        ("2026-11-31", False),
        ("2026-11-30T23:59:59.999Z", True),
    ],
)
def test_published_must_be_a_time_duckdb_can_read(
    settings: Settings, published: str, accepted: bool
) -> None:
    """A time the receiver accepts must never stop a seal or a compaction."""
    from okta_alerts.okta.eventkeys import event_problem

    event = make_event(published=published)
    assert (event_problem(event) is None) is accepted
    body = orjson.dumps(envelope([make_event(), event, make_event()]))
    if accepted:
        assert parse_delivery(body).size == 3
    else:
        with pytest.raises(DeliveryError, match=r"data\.events\[1\]: `published`"):
            parse_delivery(body)
    if accepted:
        with open_writer(settings) as writer:
            seal(writer, Batch("d", [event]))
            writer.compact()
        assert count(settings) == 1


def test_file_names_are_never_reused_across_writer_sessions(data_dir: Path) -> None:
    """A second session's compaction must not overwrite (then delete) the first one's part."""
    settings = make_settings(data_dir, grace_seconds=3600)
    first = [make_event() for _ in range(5)]
    second = [make_event() for _ in range(7)]
    for events in (first, second, [make_event()]):
        with open_writer(settings) as writer:
            seal(writer, Batch("d", events))
            writer.compact()
    names = [f.path for f in read_manifest(settings.events_dir).files]
    names += [r.path for r in read_manifest(settings.events_dir).retired]
    assert len(names) == len(set(names))
    with open_writer(make_settings(data_dir, grace_seconds=0)) as writer:
        writer.compact()  # deletes every retired file now
    assert count(settings) == 13


def test_a_journal_whose_part_was_published_is_not_sealed_twice(settings: Settings) -> None:
    """A crash after the manifest listed a journal's part, before the journal was deleted: on
    start the journal is deleted, not sealed again."""
    with open_writer(settings) as writer:
        writer.append_batch(Batch("a", [make_event(uuid="sealed-1")]))
        writer.sync()
        journal = writer.rotate()
        assert journal is not None
        saved = journal.read_bytes()
        writer.seal(journal)
        journal.write_bytes(saved)  # as if the deletion never happened
        writer.close(seal=False)
    with open_writer(settings):
        assert not journal.exists()
    assert count(settings, "uuid = 'sealed-1'") == 1


def test_a_part_written_but_never_listed_is_dropped_and_its_journal_sealed(
    settings: Settings,
) -> None:
    with open_writer(settings) as writer:
        writer.append_batch(Batch("a", [make_event(uuid="unlisted-1")]))
        writer.sync()
        journal = writer.rotate()
        writer.close(seal=False)
    assert journal is not None
    orphan = settings.events_dir / "parts" / "000000099998.parquet"
    orphan.write_bytes(b"PAR1 half written")
    with open_writer(settings):
        assert not orphan.exists() and not journal.exists()
    assert count(settings, "uuid = 'unlisted-1'") == 1
