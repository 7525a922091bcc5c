"""Read-only SQL over the views, for ``okta-alerts query`` (table, CSV or JSON output)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import orjson

from okta_alerts.errors import QueryError

ALLOWED = {"SELECT", "EXPLAIN"}


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but SELECT/EXPLAIN (no writes, COPY, ATTACH, SET, INSTALL...)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"cannot parse the query: {_first_line(exc)}") from None
    if not statements:
        raise QueryError("the query is empty; try: okta-alerts query 'SELECT count(*) FROM events'")
    for statement in statements:
        kind = str(statement.type).rsplit(".", 1)[-1]
        if kind not in ALLOWED:
            raise QueryError(f"only read-only queries are allowed here, not {kind}")


def run_query(
    con: duckdb.DuckDBPyConnection, sql: str, limit: int | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    check_read_only(con, sql)
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(limit) if limit else cursor.fetchall()
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    return columns, rows


def to_json(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """One JSON array of row objects."""
    return orjson.dumps(
        [dict(zip(columns, row, strict=True)) for row in rows],
        default=_json_default,
        option=orjson.OPT_NON_STR_KEYS,
    ).decode()


def to_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(v) for v in row] for row in rows)
    return buffer.getvalue()


def _text(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
