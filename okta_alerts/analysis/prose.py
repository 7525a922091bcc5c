"""Summaries as prose in HTML: what JupyterLab and the HTML report show of a summary object
(its ``_repr_html_``), instead of monospace text."""

from __future__ import annotations

import html
from collections.abc import Sequence


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
