"""Files that ship with okta-alerts: the report notebooks, the default alert rules and schedule.

Their editable sources are the checkout's top-level ``notebooks/`` and ``examples/``. The wheel
carries copies as package data under ``okta_alerts/shipped/`` (same relative paths), so an
installed package finds them without a checkout. Either way they are found from here only.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGED = "shipped"  # the wheel's folder; see [tool.hatch.build.targets.wheel.force-include]


def shipped_root() -> Path:
    """The folder holding ``notebooks/`` and ``examples/``: the package data of an installed
    wheel, else the source checkout this package runs from."""
    packaged = files("okta_alerts").joinpath(PACKAGED)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def notebooks_dir() -> Path:
    return shipped_root() / "notebooks"


def shipped_rules() -> Path:
    return shipped_root() / "examples" / "alert-rules.yaml"


def shipped_schedule() -> Path:
    return shipped_root() / "examples" / "schedule.yaml"
