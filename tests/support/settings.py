"""Settings for a test's data dir, built from a dict: the environment plays no part."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from okta_alerts.config import Settings, load_settings


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "seal_seconds": 0.5, "grace_seconds": 0}
    values.update(overrides)
    return load_settings(environ={}, overrides=values)
