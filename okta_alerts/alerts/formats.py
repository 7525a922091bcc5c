"""How a message is written for one kind of target: plain text, markdown or HTML.

apprise tells each target's format (:func:`okta_alerts.alerts.notify.target_format`) and the
digest is rendered in it, so text that comes from events is escaped exactly once, for that
format, and apprise converts nothing: plain text as is; markdown with CommonMark backslash
escapes only where a character could format (never HTML entities, which chat services show
literally); HTML with entities. Also the words of a digest: plurals, and links into the Okta
admin console.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from okta_alerts.analysis.prose import plural

__all__ = ["FORMATS", "Style", "admin_origin", "admin_url", "plural"]

FORMATS = ("text", "markdown", "html")
_ALWAYS = set("\\`*[]<>~")  # CommonMark punctuation that can format wherever it stands
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")  # "&lt;" would render as "<"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Okta's cell domains: the admin console of acme.okta.com is acme-admin.okta.com.
OKTA_DOMAINS = (".okta.com", ".oktapreview.com", ".okta-emea.com", ".okta-gov.com", ".okta.mil")


@dataclass(frozen=True)
class Style:
    """Writing in one format (``text``, ``markdown`` or ``html``)."""

    name: str = "text"

    def escape(self, value: object) -> str:
        """Event text shown literally, on one line."""
        text = _CONTROL.sub(" ", str(value))
        if self.name == "html":
            return html.escape(text)
        if self.name == "markdown":
            return _markdown(text)
        return text

    def bold(self, text: str) -> str:
        return {"markdown": f"**{text}**", "html": f"<b>{text}</b>"}.get(self.name, text)

    def code(self, text: str) -> str:
        """A command or path, shown as typed."""
        if self.name == "markdown":
            return "`" + text.replace("`", "'") + "`"
        return f"<code>{html.escape(text)}</code>" if self.name == "html" else text

    def link(self, label: str, url: str) -> str:
        """``label`` (already escaped) pointing at ``url``."""
        if self.name == "markdown":
            return f"[{label}]({url.replace(')', '%29').replace(' ', '%20')})"
        if self.name == "html":
            return f'<a href="{html.escape(url)}">{label}</a>'
        return f"{label} <{url}>"

    def item(self, text: str) -> str:
        return f"• {text}" if self.name == "html" else f"- {text}"

    def join(self, blocks: Sequence[Sequence[str]]) -> str:
        """Blocks of lines, a blank line between blocks."""
        if self.name == "html":
            return "<br><br>\n".join("<br>\n".join(block) for block in blocks) + "\n"
        return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _markdown(text: str) -> str:
    out = []
    for i, char in enumerate(text):
        inside = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        if char in _ALWAYS or (char == "_" and not inside):
            out.append("\\" + char)
        else:
            out.append(char)
    return _ENTITY.sub(r"\\&", "".join(out))


def admin_origin(org_url: str) -> str:
    """The Okta admin console's origin for the org's base URL (``https://acme.okta.com`` ->
    ``https://acme-admin.okta.com``); a custom domain is kept as it is."""
    parts = urlsplit(org_url)
    host = parts.hostname or ""
    for domain in OKTA_DOMAINS:
        name = host[: -len(domain)]
        if host.endswith(domain) and name and not name.endswith("-admin"):
            port = f":{parts.port}" if parts.port else ""
            return f"{parts.scheme}://{name}-admin{domain}{port}"
    return org_url.rstrip("/")


def admin_url(origin: str, kind: str, okta_id: str, app_key: str = "") -> str | None:
    """The admin console page of a user (by id) or an app (by its key and instance id)."""
    if kind == "user":
        return f"{origin}/admin/user/profile/view/{okta_id}"
    if kind == "app" and app_key:
        return f"{origin}/admin/app/{app_key}/instance/{okta_id}/"
    return None
