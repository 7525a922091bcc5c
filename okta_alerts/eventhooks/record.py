"""What ``okta connect`` last set on Okta's hook, kept in ``data/okta-hook.json``.

Okta never returns a hook's secret, so a GET cannot tell whether the secret (or anything else of
the channel) is still what the receiver expects. After every create or replace the record keeps
the hook's id and a **fingerprint** of the channel that was sent (URL, headers, header name and
secret): HMAC-SHA256 under a random key stored beside it, never the secret itself. The next run
computes the fingerprint of what it would send: equal means nothing of the channel changed;
different (or no record, or another hook id) means the hook is replaced, secret included.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any, TypedDict, cast

import orjson

from okta_alerts.errors import ConfigError
from okta_alerts.files import write_atomic

RECORD_FILE = "okta-hook.json"
Hook = dict[str, Any]


class HookRecord(TypedDict):
    version: int
    org: str
    name: str
    hook_id: str
    url: str
    key: str  # hex: the fingerprint's HMAC key
    fingerprint: str  # hex: HMAC-SHA256 of the channel sent (secret included)
    set_at: str


def fingerprint(key: str, hook: Hook) -> str:
    """The keyed hash of ``hook``'s channel as sent (secret included)."""
    channel = orjson.dumps(hook.get("channel"), option=orjson.OPT_SORT_KEYS)
    return hmac.new(bytes.fromhex(key), channel, hashlib.sha256).hexdigest()


def channel_unchanged(record: HookRecord | None, org: str, hook_id: str, wanted: Hook) -> bool:
    """Whether ``wanted``'s channel is exactly what was last set on this org's hook."""
    if record is None or record.get("org") != org or record.get("hook_id") != hook_id:
        return False
    try:
        expected = fingerprint(record["key"], wanted)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, str(record.get("fingerprint", "")))


def new_record(org: str, hook: Hook, wanted: Hook, when: str) -> HookRecord:
    key = secrets.token_hex(32)
    return {
        "version": 1,
        "org": org,
        "name": str(hook.get("name")),
        "hook_id": str(hook.get("id")),
        "url": str(wanted["channel"]["config"]["uri"]),
        "key": key,
        "fingerprint": fingerprint(key, wanted),
        "set_at": when,
    }


def load_record(data_dir: Path) -> HookRecord | None:
    path = data_dir / RECORD_FILE
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(
            f"cannot read {path} ({exc}); delete it: okta connect writes it again"
        ) from None
    return cast("HookRecord", data) if isinstance(data, dict) else None


def save_record(data_dir: Path, record: HookRecord) -> None:
    path = data_dir / RECORD_FILE
    write_atomic(path, orjson.dumps(record, option=orjson.OPT_INDENT_2))
    os.chmod(path, 0o600)
