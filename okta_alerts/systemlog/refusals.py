"""What Okta's error answers say (docs/okta.md §5), and what to do about them.

Okta answers errors with ``{"errorCode", "errorSummary", "errorCauses": [...]}``; these turn such
an answer into one line, and a refusal (a ``4xx`` other than ``429``) into a message that names
the setting to check. The caller redacts the API token from them.
"""

from __future__ import annotations

import httpx

MAX_SUMMARY = 300  # characters of Okta's error text kept in a message


def error_summary(response: httpx.Response) -> str:
    """Okta's ``errorCode: errorSummary`` of an error answer, or a short text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code, summary = body.get("errorCode"), body.get("errorSummary")
        causes = [
            c.get("errorSummary")
            for c in body.get("errorCauses") or []
            if isinstance(c, dict) and isinstance(c.get("errorSummary"), str)
        ]
        parts = [p for p in (code, summary, *causes) if isinstance(p, str) and p]
        if parts:
            return ": ".join(parts)[:MAX_SUMMARY]
    return response.reason_phrase or "no details"


def refusal(response: httpx.Response, org_url: str) -> str:
    """The message for a refused System Log request to ``org_url``, with what to check."""
    status = response.status_code
    what = f"Okta's System Log API answered HTTP {status} ({error_summary(response)})"
    if status == 401:
        return (
            f"{what}: the API token was not accepted; check OKTA_ALERTS_OKTA_API_TOKEN or "
            "--token-file (an SSWS API token, or an OAuth access token; set "
            "OKTA_ALERTS_OKTA_AUTH_SCHEME if the wrong scheme was guessed)"
        )
    if status == 403:
        return (
            f"{what}: the token may not read the System Log; it needs the okta.logs.read "
            "scope or an admin role that can view the System Log"
        )
    if status == 400:
        return f"{what}: check --since/--until (at most 180 days ago) and the event types"
    if status == 404:
        return f"{what}: is OKTA_ALERTS_OKTA_ORG_URL ({org_url}) your Okta org's URL?"
    return what
