"""Query results as tables a person reads, the same in JupyterLab and in the HTML report.

:func:`show` turns a query's DataFrame into a :class:`Table` (a pandas ``Styler``, which both
JupyterLab and nbconvert render as the same HTML with its own scoped stylesheet): no index
column; times to the minute, in UTC; whole numbers with thousands separators and other numbers
to one decimal, right-aligned in figures of equal width; text left-aligned and HTML-escaped;
missing values as empty cells; one caption. As plain text (a terminal, ``print``) it is the
frame without its index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_float_dtype,
    is_integer_dtype,
)
from pandas.io.formats.style import Styler

# One look for every table: light rules between rows, a bold header on a grey band.
CSS: list[dict[str, str]] = [
    {"selector": "", "props": "border-collapse: collapse; font-size: 13px; margin: 4px 0 14px;"},
    {
        "selector": "th",
        "props": "text-align: left; padding: 4px 10px; border-bottom: 2px solid #888; "
        "background: #f3f3f3; font-weight: 600;",
    },
    {
        "selector": "td",
        "props": "padding: 3px 10px; border-bottom: 1px solid #e2e2e2; vertical-align: top;",
    },
    {"selector": "caption", "props": "caption-side: top; text-align: left; color: #555;"},
]
NUMBER = {"text-align": "right", "font-variant-numeric": "tabular-nums", "white-space": "nowrap"}
EMPTY = "Nothing in this window."


class Table(Styler):  # type: ignore[misc]  # pandas' Styler has no type annotations
    """A styled table whose text form is its frame, formatted the same, without the index."""

    plain: str = EMPTY

    def __repr__(self) -> str:
        return self.plain

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def show(frame: pd.DataFrame, caption: str | None = None) -> Table:
    """``frame`` as a table: see the module's docstring."""
    table = Table(frame)
    formats: dict[str, Callable[[Any], str]] = {}
    numeric = []
    for column in frame.columns:
        kind = frame[column].dtype
        if is_datetime64_any_dtype(kind):
            formats[column] = _minute
        elif is_bool_dtype(kind):
            formats[column] = lambda v: "" if pd.isna(v) else ("yes" if v else "no")
        elif is_integer_dtype(kind):
            formats[column] = _whole
            numeric.append(column)
        elif is_float_dtype(kind):
            formats[column] = _whole if _all_whole(frame[column]) else _decimal
            numeric.append(column)
    table.format(formats, na_rep="", escape="html")
    table.format_index(escape="html", axis=1)
    table.hide(axis="index")
    table.set_table_styles(CSS, overwrite=False)
    if numeric:
        table.set_properties(subset=numeric, **NUMBER)
        right = {c: [{"selector": "th", "props": "text-align: right"}] for c in numeric}
        table.set_table_styles(right, overwrite=False)
    if caption or frame.empty:
        table.set_caption(caption or EMPTY)
    if not frame.empty:
        shown = frame.copy()
        for column, format_value in formats.items():
            shown[column] = frame[column].map(format_value)
        table.plain = str(shown.fillna("").to_string(index=False))
    return table


def _minute(value: Any) -> str:
    if pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return str(stamp.strftime("%Y-%m-%d %H:%M"))


def _whole(value: Any) -> str:
    return "" if pd.isna(value) else f"{int(value):,}"


def _decimal(value: Any) -> str:
    return "" if pd.isna(value) else f"{float(value):,.1f}"


def _all_whole(column: pd.Series) -> bool:
    values = column.dropna()
    return bool(len(values)) and bool((values == values.round()).all())
