"""Report tables and summaries as people read them: no index, minutes in UTC, aligned numbers,
escaped text, prose summaries; one look in JupyterLab and the HTML report (the same HTML)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd

from okta_alerts.analysis import make_window
from okta_alerts.analysis.baseline import Comparison
from okta_alerts.analysis.lockouts import LockoutSummary
from okta_alerts.analysis.tables import show

FRAME = pd.DataFrame(
    {
        "user_login": ["<b>jane</b>@acme.com", "john@acme.com"],
        "lockouts": [1204, 3],
        "ratio": [2.54, None],
        "last_lockout": pd.to_datetime(["2026-11-30 12:03:44.123+00:00", None], utc=True),
        "known": [True, False],
    }
)


def test_a_table_has_no_index_minutes_aligned_numbers_and_escaped_text() -> None:
    page = show(FRAME, "Most locked out").to_html()
    assert "row_heading" not in page and ">0<" not in page  # no index column
    assert "2026-11-30 12:03<" in page and "12:03:44" not in page
    assert "1,204" in page and ">2.5<" in page
    assert "&lt;b&gt;jane&lt;/b&gt;@acme.com" in page and "<b>jane" not in page
    assert re.search(r"text-align: right;\s*font-variant-numeric: tabular-nums", page)
    assert "Most locked out" in page and ">yes<" in page


def test_its_text_is_the_same_table_without_the_index() -> None:
    text = repr(show(FRAME))
    assert text.splitlines()[0].split() == ["user_login", "lockouts", "ratio", "last_lockout",
                                            "known"]  # fmt: skip
    assert "1,204" in text and "2026-11-30 12:03" in text and "NaN" not in text
    assert repr(show(FRAME.iloc[0:0])) == "Nothing in this window."
    assert "Nothing in this window." in show(FRAME.iloc[0:0]).to_html()


def test_a_summary_is_prose_with_its_event_text_escaped() -> None:
    window = make_window(datetime(2026, 11, 30, 12, tzinfo=UTC), 24, 14)
    summary = LockoutSummary(window, 1, 1, 1, Comparison(1, 14, 0.5, 0.5), "<i>x</i>@acme.com", 1,
                             "203.0.113.9", 1, 1)  # fmt: skip
    page = summary._repr_html_()
    assert page.count("<p ") == 4 and "<pre" not in page
    assert "&lt;i&gt;x&lt;/i&gt;@acme.com" in page
    assert "1 lockout of 1 user from 1 IP in" in page and "candidates: 1 IP." in page
    assert window._repr_html_().startswith("<p ")
