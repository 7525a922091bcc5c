"""No typed passwords at rest: what an unknown actor typed is a keyed token before anything is
written — through the receiver, ingest and the System Log — and verbatim only when asked."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from click.testing import CliRunner

import okta_alerts
from okta_alerts.cli import main
from okta_alerts.config import Settings
from okta_alerts.okta.eventfiles import IngestReport, batches_from_files
from okta_alerts.okta.typednames import TypedNames
from okta_alerts.redaction import KEY_FILE, typed_names
from okta_alerts.store.ingest import ingest_files
from okta_alerts.store.writer import write_batches
from okta_alerts.systemlog.backfill import run_backfill
from okta_alerts.systemlog.client import SystemLogClient
from okta_alerts.systemlog.poller import poll_once
from tests.support.factories import envelope, iso, make_event
from tests.support.fake_okta import TOKEN, FakeOkta
from tests.support.inprocess import SECRET, InProcessReceiver
from tests.support.ports import free_port
from tests.support.receiver_process import SECRET as PROCESS_SECRET
from tests.support.receiver_process import running_receiver
from tests.support.samples import storable
from tests.support.settings import make_settings

TYPED = "Winter2026!-typed-into-the-user-name"
SPRAY = "user.session.start_FAILURE_VERIFICATION_ERROR_actor-unknown__panther-standard_brute_force_by_ip.json"  # noqa: E501


def failed_sign_in(typed: str = TYPED, **extra: Any) -> dict[str, Any]:
    event = make_event(result="FAILURE", reason="VERIFICATION_ERROR", **extra)
    event["actor"] = {
        "id": "unknown",
        "type": "User",
        "alternateId": typed,
        "displayName": "unknown",
    }
    return event


def stored(data_dir: Path) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """uuid → (actor_alternate_id, raw) of every stored event."""
    con = okta_alerts.connect(data_dir)
    try:
        rows = con.execute("SELECT uuid, actor_alternate_id, raw FROM events").fetchall()
    finally:
        con.close()
    return {uuid: (alternate, orjson.loads(raw)) for uuid, alternate, raw in rows}


def nowhere_on_disk(data_dir: Path, text: str) -> bool:
    """``text`` is in no file of the data dir (journals, segments, parts, the manifest)."""
    needle = text.encode()
    return not any(needle in p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


# -- the token --------------------------------------------------------------------------------


def test_tokens_are_stable_per_key_and_never_hashed_twice() -> None:
    one, other = TypedNames(b"k" * 32), TypedNames(b"q" * 32)
    token = one.token(TYPED)
    assert token.startswith("unknown:") and len(token) == len("unknown:") + 32
    assert one.token(TYPED) == token != one.token(TYPED + " ")
    assert other.token(TYPED) != token
    assert one.token(token) == token


def test_only_unknown_actors_are_rewritten_and_the_rest_is_kept_byte_for_byte() -> None:
    typed = TypedNames(b"k" * 32)
    known = orjson.dumps(make_event(actor="ann@example.com"))
    unknown = orjson.dumps(failed_sign_in(), option=orjson.OPT_INDENT_2).replace(b"\n", b" ")
    raws = [known, unknown]
    assert typed.rewrite(raws, [orjson.dumps(orjson.loads(r)["actor"]) for r in raws]) == 1
    assert raws[0] is known
    after = orjson.loads(raws[1])
    assert after["actor"]["alternateId"] == typed.token(TYPED)
    assert after == {**orjson.loads(unknown), "actor": after["actor"]}
    assert TYPED.encode() not in raws[1]
    members = msgspec.json.decode(raws[1], type=dict[str, msgspec.Raw])
    before = msgspec.json.decode(unknown, type=dict[str, msgspec.Raw])
    assert list(members) == list(before)
    for name in before:
        if name != "actor":
            assert bytes(members[name]) == bytes(before[name]), f"{name} kept byte for byte"


# -- the key ----------------------------------------------------------------------------------


def test_the_data_dir_key_is_made_once_private_and_reused(settings: Settings) -> None:
    first = typed_names(settings)
    path = settings.data_dir / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = typed_names(settings)
    assert first is not None and again is not None
    assert first.token(TYPED) == again.token(TYPED)


def test_a_configured_key_is_used_and_never_shown(data_dir: Path) -> None:
    key = "a-long-random-configured-key-0123"
    settings = make_settings(data_dir, typed_name_key=key)
    hasher = typed_names(settings)
    assert hasher is not None and hasher.token(TYPED) == TypedNames(key.encode()).token(TYPED)
    assert not (data_dir / KEY_FILE).exists()
    assert key not in repr(settings) and key not in str(settings.model_dump())


def test_hashing_can_be_turned_off(data_dir: Path) -> None:
    assert typed_names(make_settings(data_dir, hash_typed_names=False)) is None


# -- through the receiver -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_receiver_stores_tokens_never_the_typed_text(
    receiver_app: InProcessReceiver,
) -> None:
    events = [failed_sign_in(), failed_sign_in(), failed_sign_in("admin"), make_event()]
    sample = storable(SPRAY, 1)
    headers = {"Authorization": SECRET, "X-Okta-Org": "acme", "Content-Type": "application/json"}
    for body in (envelope(events), envelope([sample])):
        answer = await receiver_app.client.post("/hooks/okta", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    await receiver_app.sealed()
    data = receiver_app.settings.data_dir
    found = stored(data)
    hasher = typed_names(receiver_app.settings)
    assert hasher is not None
    tokens = [found[e["uuid"]][0] for e in events[:3]]
    assert tokens == [hasher.token(TYPED), hasher.token(TYPED), hasher.token("admin")]
    assert found[sample["uuid"]][0] == hasher.token("admin")  # Panther's published sample
    assert found[sample["uuid"]][1]["actor"]["alternateId"] == hasher.token("admin")
    assert found[events[3]["uuid"]][0] == "jane.doe@example.com"
    assert nowhere_on_disk(data, TYPED)


# -- through ingest -----------------------------------------------------------------------------


def ndjson(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def test_ingested_files_are_hashed_before_the_writer_sees_them(
    tmp_path: Path, settings: Settings
) -> None:
    events = [failed_sign_in(), make_event()]
    report = IngestReport()
    path = ndjson(tmp_path, events)
    write_batches(settings, batches_from_files([path], report, typed=typed_names(settings)))
    hasher = typed_names(settings)
    assert hasher is not None
    assert stored(settings.data_dir)[events[0]["uuid"]][0] == hasher.token(TYPED)
    assert nowhere_on_disk(settings.data_dir, TYPED)


def test_ingest_into_a_free_data_dir_stores_tokens(tmp_path: Path, settings: Settings) -> None:
    events = [failed_sign_in()]
    ingest_files(settings, [ndjson(tmp_path, events)])
    assert nowhere_on_disk(settings.data_dir, TYPED)


@pytest.mark.slow
def test_ingest_handed_to_a_running_receiver_stores_tokens(tmp_path: Path, data_dir: Path) -> None:
    events = [failed_sign_in(), make_event()]
    path = ndjson(tmp_path, events)
    with running_receiver(data_dir, free_port(), tmp_path / "receiver.log"):
        args = ["ingest", str(path), "--data-dir", str(data_dir)]
        result = CliRunner().invoke(main, args, env={"OKTA_ALERTS_AUTH_SECRET": PROCESS_SECRET})
        assert result.exit_code == 0, result.output
        assert "through the running receiver" in result.output
        found = stored(data_dir)
    hasher = typed_names(make_settings(data_dir))
    assert hasher is not None
    assert found[events[0]["uuid"]][0] == hasher.token(TYPED)
    assert nowhere_on_disk(data_dir, TYPED)


# -- through the System Log -----------------------------------------------------------------------


def test_backfill_and_polling_store_tokens(data_dir: Path) -> None:
    now = datetime.now(UTC)
    old = [failed_sign_in(published=iso(now - timedelta(hours=3)), event_type="user.account.lock")]
    fake = FakeOkta(old).start()
    try:
        settings = make_settings(
            data_dir, okta_org_url=fake.url, okta_api_token=TOKEN, poll_lag_seconds=0
        )
        with SystemLogClient.from_settings(settings, backoff_initial=0.05) as client:
            assert run_backfill(settings, now - timedelta(days=1), now, client=client).events == 1
            assert poll_once(settings, client).events == 0
            new = failed_sign_in("second-" + TYPED, event_type="user.account.lock")
            new["published"] = iso(datetime.now(UTC))
            fake.add([new])
            assert poll_once(settings, client).events == 1
    finally:
        fake.stop()
    hasher = typed_names(settings)
    assert hasher is not None
    found = stored(data_dir)
    assert found[old[0]["uuid"]][0] == hasher.token(TYPED)
    assert found[new["uuid"]][0] == hasher.token("second-" + TYPED)
    assert nowhere_on_disk(data_dir, TYPED)


def test_verbatim_when_turned_off(tmp_path: Path, data_dir: Path) -> None:
    settings = make_settings(data_dir, hash_typed_names=False)
    events = [failed_sign_in()]
    report = IngestReport()
    path = ndjson(tmp_path, events)
    write_batches(settings, batches_from_files([path], report, typed=typed_names(settings)))
    assert stored(data_dir)[events[0]["uuid"]][0] == TYPED
