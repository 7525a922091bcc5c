"""Summaries as prose in HTML: what JupyterLab and the HTML report show of a summary object
(its ``_repr_html_``), instead of monospace text."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import ClassVar, Protocol


class PrettyPrinter(Protocol):
    """The part of IPython's pretty printer that a ``_repr_pretty_`` here uses."""

    def text(self, obj: str) -> None: ...


class Prose:
    """What an object with a ``describe()`` shows: its text in a console and in ``str()``, its
    lines as HTML paragraphs in JupyterLab and the HTML report (the first in bold when
    ``lead``)."""

    __slots__ = ()
    lead: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        # IPython prefers a class's own __repr__ (a dataclass writes one) to an inherited
        # _repr_pretty_, so each subclass gets the method in its own namespace.
        super().__init_subclass__(**kwargs)
        cls._repr_pretty_ = Prose._repr_pretty_  # type: ignore[method-assign]

    def describe(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()

    def _repr_pretty_(self, printer: PrettyPrinter, cycle: bool) -> None:
        printer.text(self.describe())

    def _repr_html_(self) -> str:
        return paragraphs(self.describe().splitlines(), lead=self.lead)


def paragraphs(lines: Sequence[str], lead: bool = True) -> str:
    """``lines`` as HTML paragraphs, escaped; the first in bold when ``lead``."""
    out = []
    for number, line in enumerate(lines):
        text = html.escape(line)
        if lead and number == 0:
            text = f"<strong>{text}</strong>"
        out.append(f'<p style="margin: 2px 0 6px; max-width: 60em">{text}</p>')
    return "\n".join(out)


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 lockout``, ``2 lockouts``, ``1,204 IP addresses``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
