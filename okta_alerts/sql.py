"""SQL text built from values, in one place.

Values go to DuckDB as bound parameters wherever it takes them. A few places cannot bind: the
target of ``COPY ... TO``, ``SET`` statements, and constant lists written into view definitions.
There, and only there, values are quoted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def literal(value: str | Path) -> str:
    """A SQL string literal of ``value`` (quotes doubled), e.g. a path holding a ``'``."""
    return "'" + str(value).replace("'", "''") + "'"


def literal_list(values: Iterable[str | Path]) -> str:
    """A DuckDB list literal ``['a', 'b']``."""
    return "[" + ", ".join(literal(v) for v in values) + "]"


def in_list(values: Iterable[str]) -> str:
    """The right-hand side of ``IN``: ``('a', 'b')``, sorted so view text is stable."""
    return "(" + ", ".join(literal(v) for v in sorted(values)) + ")"
