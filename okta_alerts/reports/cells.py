"""What the notebooks' last two cells call: the alerting cell and the recorded key figures.

Notebooks import this module at start-up, so it loads neither papermill nor nbformat (apprise
is loaded only when a notification is sent).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

from okta_alerts.alerts.check import check_from_notebook
from okta_alerts.reports import FIGURES_MIME


def alerting_cell(
    send_notifications: bool,
    rules: str | None = None,
    end: datetime | str | None = None,
    data_dir: str | None = None,
) -> Any:
    """The notebooks' alerting cell: evaluate the alert rules and notify, only when
    ``send_notifications`` is true (scheduled runs); otherwise say that nothing was sent."""
    if not send_notifications:
        print("Notifications off (send_notifications = False): no alert rules were evaluated.")
        return None
    return check_from_notebook(data_dir=data_dir, rules=rules, end=end)


def record_figures(figures: dict[str, Any]) -> None:
    """The notebooks' last cell: print the key figures as one JSON line and display them as an
    ``application/json`` output, which tests and the scheduler read (:func:`read_figures`)."""
    from IPython.display import display  # deferred: IPython exists only inside a kernel

    clean = _jsonable(figures)
    print(json.dumps(clean, sort_keys=True))
    lines = "\n".join(f"{key}: {value}" for key, value in clean.items())
    display({FIGURES_MIME: clean, "text/plain": lines}, raw=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
