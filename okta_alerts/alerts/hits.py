"""What a rule's query finds: :class:`Hit`, one key the rule fires for, and the SQL pieces that
every kind's query shares (keys, top values, the ids the digest links to).

A hit may carry its own severity (a spray from one of the org's known networks is downgraded)
and notes for the digest ("no sign-in from it in the 14 days before", "last event at ...").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import duckdb

NO_KEY = "(none)"  # how a missing group-by value is shown

# A group-by column -> (kind of page, column of its Okta id, column of the app's key or None):
# where the digest links a key to the Okta admin console.
REF_COLUMNS: dict[str, tuple[str, str, str | None]] = {
    "actor_alternate_id": ("user", "actor_id", None),
    "target_user_login": ("user", "target_user_id", None),
    "user_login": ("user", "target_user_id", None),
    "app_name": ("app", "app_id", "app_key"),
    "target_app_name": ("app", "target_app_id", None),
}

Params = dict[str, Any]  # a query's named parameters
Ref = tuple[str, str, str]  # (user | app, Okta id, the app's key or "")
Top = tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


@dataclass(frozen=True)
class Hit:
    """One key a rule fires for: its group-by values, counts, normal and top values."""

    key: str
    labels: tuple[tuple[str, str], ...] = ()
    count: int = 0
    value: int = 0
    normal: float | None = None
    top: Top = ()
    severity: str | None = None  # None: the rule's
    notes: tuple[str, ...] = ()
    refs: tuple[Ref, ...] = ()
    window: timedelta | None = None  # None: the rule's


def quote(column: str) -> str:
    return f'"{column}"'


def key_columns(group_by: Sequence[str]) -> list[str]:
    """``CAST(col AS VARCHAR) AS k0, ...``: the group-by values as text."""
    return [f"CAST({quote(c)} AS VARCHAR) AS k{i}" for i, c in enumerate(group_by)]


def ref_columns(group_by: Sequence[str]) -> list[str]:
    """``any_value(id) AS r0 ...`` for the group-by columns the digest can link (see
    :data:`REF_COLUMNS`; an unknown actor's id is ``unknown``, not a user)."""
    out = []
    for i, column in enumerate(group_by):
        if column not in REF_COLUMNS:
            continue
        _, id_column, key_column = REF_COLUMNS[column]
        only = " FILTER (WHERE actor_type = 'User')" if id_column == "actor_id" else ""
        out.append(f"any_value({quote(id_column)}){only} AS r{i}")
        if key_column:
            out.append(f"any_value({quote(key_column)}) AS a{i}")
    return out


def tops_column(top: Sequence[str], current: str = "") -> str:
    """``{'col': histogram(col) ...} AS top``: the values of ``top`` and their counts."""
    tops = ", ".join(f"'{c}': histogram({quote(c)}) {current}" for c in top)
    return f"{{{tops}}} AS top" if tops else "{} AS top"


def key_of(values: Sequence[Any]) -> tuple[tuple[str, ...], str]:
    """The group-by values as text (NULL as :data:`NO_KEY`) and the key they make."""
    shown = tuple(NO_KEY if v is None else str(v) for v in values)
    return shown, " / ".join(shown)


def refs_of(group_by: Sequence[str], row: Mapping[str, Any]) -> tuple[Ref, ...]:
    """The links of one result row (a mapping with the ``r{i}``/``a{i}`` columns)."""
    found = []
    for i, column in enumerate(group_by):
        if column in REF_COLUMNS and row.get(f"r{i}") not in (None, "", "unknown"):
            found.append((REF_COLUMNS[column][0], str(row[f"r{i}"]), str(row.get(f"a{i}") or "")))
    return tuple(found)


def ranked(top: Mapping[str, Mapping[Any, int] | None] | None) -> Top:
    """The three most frequent values of each ``top`` column, most first."""
    return tuple((column, top3(counts)) for column, counts in (top or {}).items())


def top3(counts: Mapping[Any, int] | None) -> tuple[tuple[str, int], ...]:
    pairs = sorted(((str(k), int(c)) for k, c in (counts or {}).items()), key=lambda p: -p[1])
    return tuple(pairs[:3])


def rows_of(con: duckdb.DuckDBPyConnection, sql: str, params: Params) -> list[dict[str, Any]]:
    """The rows of a query as mappings of column name to value."""
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
