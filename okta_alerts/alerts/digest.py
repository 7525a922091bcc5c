"""The digest: one message per check and per kind of target, from the announced alerts.

What fired, most severe first; the counts, with plurals; the top values; the window; the
comparison with normal; for an alert that keeps firing, since when, its peak and its total so
far; what resolved, with its final figures; the evaluation time; and where the matching report
is (or the command that makes it). Each target gets it in its own format
(:mod:`okta_alerts.alerts.formats`) and within its own body limit: blocks that do not fit are
left out from the least severe up, and a last line counts them and points to the rest. With the
org URL set, users and apps link to their page in the Okta admin console. Sending is
:mod:`okta_alerts.alerts.notify`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from okta_alerts.alerts.evaluate import Alert
from okta_alerts.alerts.formats import Style, admin_origin, admin_url, plural
from okta_alerts.alerts.kinds import (
    AbsenceRule,
    DistinctRule,
    SpikeRule,
    SprayRule,
    baseline_of,
    group_by_of,
    report_of,
)
from okta_alerts.times import format_minute, format_span

MAX_KEYS = 10  # keys listed per rule in a digest; the rest are counted
RANK = {"info": 0, "warning": 1, "high": 2, "critical": 3}
NOTIFY_TYPE = {"info": "info", "warning": "warning", "high": "failure", "critical": "failure"}
VIEW_NOUNS = {
    "events": ("event", "events"),
    "lockouts": ("lockout", "lockouts"),
    "unlocks": ("unlock", "unlocks"),
    "assignment_errors": ("assignment error", "assignment errors"),
    "hook_gaps": ("missed event", "missed events"),
}
FIELD_NOUNS = {
    "actor_alternate_id": ("account", "accounts"),
    "user_login": ("user", "users"),
    "target_user_login": ("user", "users"),
    "client_ip": ("IP address", "IP addresses"),
    "as_number": ("network", "networks"),
    "app_name": ("app", "apps"),
    "reason_key": ("reason", "reasons"),
}
LIST_COMMAND = "okta-alerts alerts list"


@dataclass(frozen=True)
class Digest:
    """One message: its title, its body in ``fmt``, and how many alerts the body left out."""

    title: str
    body: str
    fmt: str
    notify_type: str
    omitted: int = 0


@dataclass(frozen=True)
class DigestOptions:
    """How to render: the target's format and body limit (characters), the org's URL for
    links, and where each notebook's latest report is (notebook -> path or URL)."""

    fmt: str = "text"
    limit: int | None = None
    org_url: str | None = None
    reports: Mapping[str, str] = field(default_factory=dict)


Block = list[str]


def render_digest(
    alerts: Sequence[Alert], now: datetime, options: DigestOptions | None = None
) -> Digest:
    """The digest of the announced ``alerts`` at ``now``, written as ``options`` say."""
    options = options or DigestOptions()
    style = Style(options.fmt)
    firing = [a for a in alerts if a.status == "firing"]
    resolved = [a for a in alerts if a.status == "resolved"]
    title = f"Okta alerts: {len(firing)} firing" + (
        f", {len(resolved)} resolved" if resolved else ""
    )
    worst = max((RANK[a.level] for a in firing), default=-1)
    kind = NOTIFY_TYPE[next(k for k, v in RANK.items() if v == worst)] if firing else "success"
    origin = admin_origin(options.org_url) if options.org_url else None
    order = sorted(firing, key=lambda a: (-RANK[a.level], a.rule.id))
    groups = _groups(order) + _groups(resolved)
    footer = [[f"Evaluated at {format_minute(now)} UTC."], *_reports(alerts, now, options, style)]
    body, omitted = _fit(groups, footer, style, origin, options.limit)
    return Digest(title, body, options.fmt, kind, omitted)


def _groups(alerts: Sequence[Alert]) -> list[list[Alert]]:
    """The alerts of each rule and severity, in order of their first alert."""
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.rule.id, alert.level), []).append(alert)
    return list(groups.values())


def _fit(
    groups: list[list[Alert]],
    footer: list[Block],
    style: Style,
    origin: str | None,
    limit: int | None,
) -> tuple[str, int]:
    """The body and how many alerts it does not list: every group that fits in ``limit``
    (listing fewer keys if that makes it fit), in order, then a line counting the alerts not
    listed, then the footer. A limit too small even for that cuts the text."""
    shown: list[Block] = []
    unlisted: list[Alert] = []
    for number, group in enumerate(groups):
        rest = [a for g in groups[number + 1 :] for a in g]
        for keys in (MAX_KEYS, 5, 3, 1, 0):
            block = _block(group, style, origin, keys)
            cut = group[max(keys, 1) :]
            if _fits(
                style.join([*shown, block, *_more(unlisted + cut + rest, style), *footer]), limit
            ):
                shown.append(block)
                unlisted += cut
                break
        else:
            unlisted += [a for g in groups[number:] for a in g]
            break
    body = style.join([*shown, *_more(unlisted, style), *footer])
    return (body if _fits(body, limit) else body[: (limit or 1) - 1] + "…"), len(unlisted)


def _fits(body: str, limit: int | None) -> bool:
    return limit is None or len(body) <= limit


def _more(left: Sequence[Alert], style: Style) -> list[Block]:
    if not left:
        return []
    counts: dict[str, int] = {}
    for alert in left:
        level = alert.level if alert.status == "firing" else "resolved"
        counts[level] = counts.get(level, 0) + 1
    split = ", ".join(f"{n} {level}" for level, n in counts.items())
    more = plural(len(left), "more alert")
    return [[f"{more} not listed ({split}): {style.code(LIST_COMMAND)}, or the reports below."]]


def _block(group: list[Alert], style: Style, origin: str | None, keys: int) -> Block:
    """The lines of one rule's alerts of one severity, listing at most ``keys`` keys (0: one
    key with its count only, the shortest form)."""
    if group[0].status == "resolved":
        return _resolved_block(group, style, origin, max(keys, 1))
    first, esc = group[0], style.escape
    rule = first.rule
    head = style.bold(f"[{first.level.upper()}] {esc(rule.title)}")
    window = f"in the last {format_span(first.end - first.start)}"
    by = group_by_of(rule)
    if not by:
        parts = [_measure(first, window), *_details(first, keys)]
        return [f"{head}: {esc('; '.join(parts))}"]
    block = [f"{head} {window}, by {esc(', '.join(by))}:"]
    listed = group[: max(keys, 1)]
    for alert in listed:
        details = "; ".join([_measure(alert), *_details(alert, keys)])
        block.append(style.item(f"{_key(alert, style, origin)}: {esc(details)}"))
    if len(group) > len(listed):
        block.append(style.item(f"and {plural(len(group) - len(listed), 'more key')}"))
    return block


def _details(alert: Alert, keys: int) -> list[str]:
    """Top values, notes and the alert's life so far (none in the shortest form)."""
    return [*_tops(alert), *alert.notes, *_life(alert)] if keys else []


def _resolved_block(group: list[Alert], style: Style, origin: str | None, keys: int) -> Block:
    """The resolved alerts of one rule with their final figures."""
    head = style.bold(f"[RESOLVED] {style.escape(group[0].rule.title)}")
    if not group_by_of(group[0].rule):
        return [f"{head}: {style.escape(_final(group[0]))}"]
    block = [f"{head}:"]
    for alert in group[:keys]:
        block.append(style.item(f"{_key(alert, style, origin)}: {style.escape(_final(alert))}"))
    if len(group) > keys:
        block.append(style.item(f"and {plural(len(group) - keys, 'more key')}"))
    return block


def _key(alert: Alert, style: Style, origin: str | None) -> str:
    """The key, linked to the admin console page of its user or app when known."""
    label = style.escape(alert.key)
    for kind, okta_id, app_key in alert.refs if origin else ():
        url = admin_url(origin or "", kind, okta_id, app_key)
        if url:
            return style.link(label, url)
    return label


def _nouns(alert: Alert) -> tuple[str, str]:
    return VIEW_NOUNS.get(alert.rule.view, (alert.rule.view.replace("_", " "),) * 2)


def _counted(rule_field: str, n: int) -> str:
    one, many = FIELD_NOUNS.get(rule_field, (f"distinct {rule_field}", f"distinct {rule_field}"))
    return plural(n, one, many)


def _measure(alert: Alert, window: str = "") -> str:
    """What was counted (``window``: in what period, when the headline does not say), and how
    it compares with normal when the rule knows normal."""
    rule = alert.rule
    one, many = _nouns(alert)
    period = f" {window}" if window else ""
    if isinstance(rule, AbsenceRule):
        return f"no {many} at all{period}"
    if isinstance(rule, DistinctRule | SprayRule):
        return f"{_counted(rule.field, alert.value)} ({plural(alert.count, one, many)}){period}"
    text = plural(alert.count, one, many) + period
    per = format_span(rule.window)
    baseline = format_span(baseline_of(rule) or rule.window)
    if alert.normal is None:
        return text
    if (isinstance(rule, SpikeRule) and rule.new_only) or alert.normal == 0:
        return f"{text}, none in the {baseline} before"
    if alert.normal < 1:
        return f"{text}; normally fewer than 1 per {per} (over the {baseline} before)"
    ratio = alert.count / alert.normal
    return f"{text}, {ratio:.1f}x normal ({alert.normal:.1f} per {per} over the {baseline} before)"


def _total(alert: Alert, n: int) -> str:
    rule = alert.rule
    if isinstance(rule, DistinctRule | SprayRule):
        return _counted(rule.field, n)
    return plural(n, *_nouns(alert))


def _life(alert: Alert) -> list[str]:
    """For an alert that was already open: since when, its peak and its total so far."""
    if alert.since is None:
        return []
    since = alert.since.astimezone(UTC)
    text = f"firing since {since:%H:%M} UTC ({format_span(alert.end - since)}), peak {alert.peak}"
    return [text + (f", {_total(alert, alert.total)} in all" if alert.total is not None else "")]


def _final(alert: Alert) -> str:
    """A resolved alert's final figures: when it was open, its peak and its total."""
    opened = alert.start.astimezone(UTC)
    text = f"open {opened:%H:%M}–{alert.end.astimezone(UTC):%H:%M} UTC"
    text += f" ({format_span(alert.end - opened)})"
    if isinstance(alert.rule, AbsenceRule):
        return text
    if alert.peak:
        text += f"; peak {_total(alert, alert.peak)} in {format_span(alert.rule.window)}"
    if alert.total is not None:
        text += f", {_total(alert, alert.total)} in all"
    return text


def _tops(alert: Alert) -> list[str]:
    return [
        f"top {column}: " + ", ".join(f"{value} ({n})" for value, n in pairs)
        for column, pairs in alert.top
        if pairs
    ]


def _reports(
    alerts: Sequence[Alert], now: datetime, options: DigestOptions, style: Style
) -> list[Block]:
    """Where the report of each notebook matching the alerts' rules is, else how to make it."""
    names = list(dict.fromkeys(name for a in alerts if (name := report_of(a.rule))))
    if not names:
        return []
    end = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    found = []
    for name in names:
        command = f"okta-alerts report {name} -p end {end}"
        found.append(
            f"{name.replace('_', ' ')} report: {_where(options.reports.get(name), command, style)}"
        )
    line = "; ".join(found)
    return [[line[0].upper() + line[1:]]]


def _where(location: str | None, command: str, style: Style) -> str:
    if location is None:
        return style.code(command)
    if location.startswith(("http://", "https://")):
        return style.link(style.escape(location), location)
    return style.code(location)
