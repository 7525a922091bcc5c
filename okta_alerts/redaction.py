"""The key that turns what an unknown actor typed into a token (:mod:`okta_alerts.okta.typednames`).

``OKTA_ALERTS_TYPED_NAME_KEY`` when set; otherwise a random key generated once and kept in the
data dir (``typed-name.key``, mode 0600), so every process that writes the data dir — the
receiver, ``ingest``, ``backfill``, ``poll`` — gives the same text the same token. Losing the
file only means new tokens differ from old ones. The key is never printed or logged.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from okta_alerts.config import Settings
from okta_alerts.errors import ConfigError
from okta_alerts.files import fsync_dir
from okta_alerts.okta.typednames import TypedNames

KEY_FILE = "typed-name.key"
KEY_BYTES = 32


def typed_names(settings: Settings) -> TypedNames | None:
    """The hasher for ``settings``' data dir; None when ``hash_typed_names`` is off."""
    if not settings.hash_typed_names:
        return None
    if settings.typed_name_key is not None:
        return TypedNames(settings.typed_name_key.get_secret_value().encode())
    return TypedNames(data_dir_key(settings.data_dir))


def data_dir_key(data_dir: Path) -> bytes:
    """The data dir's key, generated (atomically, 0600) on first use."""
    path = data_dir / KEY_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    temp = data_dir / f".{KEY_FILE}.{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_hex(KEY_BYTES).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)  # fails if another process made it first: then that one is used
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    fsync_dir(data_dir)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_bytes().strip()
    if len(text) < 2 * 16:
        raise ConfigError(
            f"{path} does not hold a key (at least 32 hex digits); restore it from a backup, or "
            "delete it to start new tokens"
        )
    return text
