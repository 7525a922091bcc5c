"""The reason of an assignment or provisioning error, and its key, as SQL.

Okta gives the reason of a failed provisioning in one of three places: the outcome reason, the
tail of the display message, or the app's message in ``debugData`` (docs/okta.md §4). The reason
key is that reason with what differs per user or per event replaced, so that one cause is one
key. Sealing stores the key of every assignment error (:mod:`okta_alerts.okta.columns`); the
``assignment_errors`` view computes it only for events sealed by an earlier release.
"""

from __future__ import annotations

from okta_alerts.sql import literal

# What differs per user or per event in a provisioning reason, replaced so that one cause is one
# key: (RE2 pattern, replacement), applied in order by regexp_replace to the reason. Okta's
# messages look like "Automatic provisioning of user Jane Roe to app Slack failed: Error while
# creating user jane@acme.com: Conflict. Errors reported by remote server: ..." (docs/okta.md §4).
# Numbers of three digits stay: they are HTTP status codes (400, 401, 409, 429, 500).
# The key is stored when events are sealed: a change to these rules applies to the events sealed
# after it (and to parts of earlier releases, whose key is computed when they are read).
REASON_KEY_RULES: tuple[tuple[str, str], ...] = (
    (r"^(Automatic [A-Za-z ]+? of user ).+? (to app ).+?( failed: )", r"\1<user> \2<app>\3"),
    (r"(Error while [A-Za-z ]+? user ).+?( exists)? ?: ", r"\1<user>\2: "),
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", "<time>"),
    (r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} [\d:]{8}( GMT)?", "<time>"),
    (r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "<email>"),
    (r"(https?://[^/\s'\"<>]+)[^\s'\"<>]*", r"\1/<path>"),
    (r"(?i)(user_?name|login|e-?mail|upn)(\s*=\s*|\s*:\s*|\s+)\"[^\"]*\"", r'\1\2"<value>"'),
    (r"(?i)(user_?name|login|e-?mail|upn)=[^\s,;)\"']+", r"\1=<value>"),
    (r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", "<id>"),
    (r"\b0[a-z0-9]{2}[A-Za-z0-9]{17}\b", "<id>"),
    (r"\b[0-9a-fA-F]{16,}\b", "<id>"),
    (r"\b\d{1,3}(\.\d{1,3}){3}\b", "<ip>"),
    (r"\b\d{1,2}\b|\b\d{4,}\b", "<n>"),
    (r"\s+", " "),
)


def reason_sql(outcome_reason: str, display_message: str, hint: str) -> str:
    """SQL of an assignment error's reason: the outcome reason, else what the display message
    gives after ``failed:``, else the app's message from debugData (``hint``), else the display
    message. The arguments are SQL expressions (VARCHAR)."""
    return (
        f"coalesce(nullif({outcome_reason}, ''), "
        f"nullif(regexp_extract({display_message}, 'failed: (.*)$', 1), ''), "
        f"{hint}, {display_message})"
    )


def reason_key_sql(expression: str) -> str:
    """SQL of the reason key of ``expression`` (a reason): :data:`REASON_KEY_RULES`, trimmed."""
    for pattern, replacement in REASON_KEY_RULES:
        rule = f"{literal(pattern)}, {literal(replacement)}, 'g'"
        expression = f"regexp_replace({expression}, {rule})"
    return f"nullif(trim({expression}), '')"
