"""Chat notifications through apprise: targets, the alert digest, delivery with retries.

Targets come from ``settings.apprise_config`` (an apprise YAML/TEXT file) or, without one, from
``settings.apprise_urls``. Each notification records the targets it is for (apprise url ids) and
those that have it; an attempt sends only to the others, so a retry never repeats a message to a
target that got it. Only an ``AppriseResult`` whose status is ``SUCCESS`` (or ``True`` from older
apprise) counts as delivered; ``PARTIAL``, ``FAILURE``, ``NOMATCH``, ``TIMEOUT``, ``False`` and
``None`` do not. Failed target names are shown with secrets masked (``url(privacy=True)``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from okta_alerts.config import Settings
from okta_alerts.errors import NotifyError
from okta_alerts.rules import Alert, format_duration

if TYPE_CHECKING:
    from okta_alerts.state import State

log = logging.getLogger(__name__)
SEND_TIMEOUT = 30.0  # seconds apprise may spend on one send call
MAX_KEYS = 10  # keys listed per rule in a digest; the rest are counted
NOUNS = {"events": "events", "lockouts": "lockouts", "unlocks": "unlocks"}
RANK = {"info": 0, "warning": 1, "high": 2, "critical": 3}
NOTIFY_TYPE = {"info": "info", "warning": "warning", "high": "failure", "critical": "failure"}


@dataclass(frozen=True)
class Target:
    """One configured apprise service; ``url`` has its secrets masked."""

    id: str
    name: str
    url: str
    tags: tuple[str, ...]
    server: Any = field(repr=False, compare=False)


@dataclass
class Delivery:
    """Outcome of one attempt: ids that got it, and ``"<name> <masked url>: <why>"`` failures."""

    delivered: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _apprise() -> Any:
    import apprise

    return apprise


def load_targets(settings: Settings) -> list[Target]:
    """Every configured target ([] when neither a config file nor URLs are set)."""
    apprise = _apprise()
    asset = apprise.AppriseAsset(app_id="okta-alerts", app_desc="Okta alerts")
    bundle = apprise.Apprise(asset=asset)
    if settings.apprise_config is not None:
        path = settings.apprise_config
        if not path.is_file():
            raise NotifyError(f"apprise config {path} (OKTA_ALERTS_APPRISE_CONFIG) does not exist")
        config = apprise.AppriseConfig(asset=asset)
        if not config.add(str(path)) or not bundle.add(config) or len(bundle) == 0:
            raise NotifyError(f"apprise config {path} has no usable target; check its syntax")
    else:
        for url in settings.apprise_url_list:
            if not bundle.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise NotifyError(
                    f"OKTA_ALERTS_APPRISE_URLS: apprise cannot use the {scheme}:// URL "
                    f"(number {settings.apprise_url_list.index(url) + 1}); check it"
                )
    return [_target(server) for server in bundle]


def _target(server: Any) -> Target:
    tags = tuple(sorted(str(t) for t in getattr(server, "tags", ()) or ()))
    url_id = server.url_id() if callable(getattr(server, "url_id", None)) else None
    masked = server.url(privacy=True)
    return Target(str(url_id or masked), str(server.service_name), masked, tags, server)


def matching(targets: Sequence[Target], tags: Sequence[str]) -> list[Target]:
    """Targets a rule with ``notify_tags`` goes to, by apprise's own tag matching."""
    if not tags:
        return list(targets)
    apprise = _apprise()
    bundle = apprise.Apprise()
    for target in targets:
        bundle.add(target.server)
    chosen = {id(server) for server in bundle.find(tag=list(tags))}
    return [t for t in targets if id(t.server) in chosen]


def send(
    targets: Sequence[Target],
    title: str,
    markdown: str,
    text: str,
    notify_type: str = "info",
    attachment: tuple[str, bytes] | None = None,
) -> Delivery:
    """Send one message to ``targets``: markdown where the service takes it, else plain text."""
    apprise = _apprise()
    delivery = Delivery()
    rich = apprise.NotifyFormat.MARKDOWN
    groups: dict[bool, list[Target]] = {True: [], False: []}
    for target in targets:
        resolve = getattr(target.server, "resolve_format", None)
        plain = resolve(rich) == apprise.NotifyFormat.TEXT if callable(resolve) else False
        groups[plain].append(target)
    for plain, group in groups.items():
        if not group:
            continue
        bundle = apprise.Apprise()
        for target in group:
            bundle.add(target.server)
        kwargs: dict[str, Any] = {
            "title": title,
            "notify_type": apprise.NotifyType(notify_type),
            "body_format": apprise.NotifyFormat.TEXT if plain else rich,
        }
        if attachment is not None:
            kwargs["attach"] = _attach(apprise, *attachment)
        if "timeout" in inspect.signature(bundle.notify).parameters:  # apprise >= 2
            kwargs["timeout"] = SEND_TIMEOUT
        try:
            result = bundle.notify(body=text if plain else markdown, **kwargs)
        except Exception as exc:  # a plugin bug must not lose the notification
            result = None
            log.warning("apprise raised %s", type(exc).__name__)
        _collect(group, result, delivery)
    return delivery


def _attach(apprise: Any, name: str, data: bytes) -> Any:
    from apprise.attachment.memory import AttachMemory

    attachments = apprise.AppriseAttachment()
    attachments.add(AttachMemory(content=data, name=name, mimetype="image/png"))
    return attachments


def _collect(group: list[Target], result: Any, delivery: Delivery) -> None:
    """Per-target outcome from an ``AppriseResult``; all-or-nothing from a bare bool."""
    status = getattr(result, "status", None)
    if status is None:
        if result is True:
            delivery.delivered += [t.id for t in group]
        else:
            delivery.failures += [f"{t.name} {t.url}: apprise returned {result!r}" for t in group]
        return
    outcomes = {str(r.url_id or r.url): r for r in result}
    for target in group:
        outcome = outcomes.get(target.id)
        if outcome is not None and outcome.status.name == "SUCCESS":
            delivery.delivered.append(target.id)
        elif outcome is None and status.name == "SUCCESS":
            delivery.delivered.append(target.id)  # escalation: a higher tier was not needed
        else:
            why = _reason(outcome) if outcome is not None else status.name
            delivery.failures.append(f"{target.name} {target.url}: {why}")


def _reason(outcome: Any) -> str:
    messages = [e.message for e in outcome.logs() if e.level in ("ERROR", "WARNING")]
    return messages[-1] if messages else outcome.status.name


def deliver_pending(state: State, targets: Sequence[Target], now: datetime) -> Delivery:
    """Try every undelivered notification (oldest first) on the targets it still lacks.

    Targets removed from the configuration are skipped; a notification none of whose missing
    targets is configured any more is marked failed (it can never be delivered)."""
    total = Delivery()
    by_id = {t.id: t for t in targets}
    for note in state.undelivered():
        todo = [by_id[i] for i in note.targets if i not in note.delivered and i in by_id]
        if not todo:
            error = "none of its targets is configured any more"
            state.attempted(note, now, [], error, gone=True)
            total.failures.append(f"notification {note.id}: {error}")
            continue
        state.release()  # do not hold the state file open while talking to chat services
        result = send(todo, note.title, note.markdown, note.text, note.notify_type, note.attachment)
        state.attempted(note, now, result.delivered, "; ".join(result.failures) or None)
        total.delivered += result.delivered
        total.failures += result.failures
    return total


def test_targets(settings: Settings) -> list[tuple[Target, str | None]]:
    """Send a test message to each target separately; (target, None or the failure)."""
    results = []
    for target in load_targets(settings):
        outcome = send(
            [target],
            "okta-alerts test",
            "This is a **test** from `okta-alerts alerts test-notify`.",
            "This is a test from okta-alerts alerts test-notify.",
        )
        results.append((target, outcome.failures[0] if outcome.failures else None))
    return results


# -- the digest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """One message for one evaluation: markdown, and the same as plain text."""

    title: str
    markdown: str
    text: str
    notify_type: str


def render_digest(alerts: Sequence[Alert], now: datetime, report: str | None = None) -> Digest:
    """The digest of the announced ``alerts``: counts, top keys, windows, normal, report path."""
    firing = [a for a in alerts if a.status == "firing"]
    resolved = [a for a in alerts if a.status == "resolved"]
    title = f"Okta alerts: {len(firing)} firing" + (
        f", {len(resolved)} resolved" if resolved else ""
    )
    worst = max((RANK[a.rule.severity] for a in firing), default=-1)
    kind = NOTIFY_TYPE[next(k for k, v in RANK.items() if v == worst)] if firing else "success"
    return Digest(
        title,
        _render(firing, resolved, now, report, escape_markdown, "**"),
        _render(firing, resolved, now, report, str, ""),
        kind,
    )


def _render(
    firing: Sequence[Alert],
    resolved: Sequence[Alert],
    now: datetime,
    report: str | None,
    esc: Callable[[str], str],
    bold: str,
) -> str:
    """Blocks (a headline and its bullets) separated by blank lines: markdown and text alike."""
    blocks: list[list[str]] = []
    order = sorted(firing, key=lambda a: (-RANK[a.rule.severity], a.rule.id))
    for rule_id in dict.fromkeys(a.rule.id for a in order):
        group = [a for a in order if a.rule.id == rule_id]
        rule, first = group[0].rule, group[0]
        head = f"{bold}[{rule.severity.upper()}] {esc(rule.title)}{bold}"
        window = f"in the last {format_duration(rule.window)}"
        if not rule.group_by:
            block = [f"{head}: {esc(_measure(first))} {window}{_since(first)}"]
            block += [f"- {esc(t)}" for t in _tops(first)]
        else:
            block = [f"{head} {window}, by {esc(', '.join(rule.group_by))}:"]
            for alert in group[:MAX_KEYS]:
                detail = "; ".join([_measure(alert), *_tops(alert)])
                block.append(f"- {esc(alert.key)}: {esc(detail)}{_since(alert)}")
            if len(group) > MAX_KEYS:
                block.append(f"- and {len(group) - MAX_KEYS} more")
        blocks.append(block)
    for rule_id in dict.fromkeys(a.rule.id for a in resolved):
        group = [a for a in resolved if a.rule.id == rule_id]
        keys = ", ".join(esc(a.key) for a in group[:MAX_KEYS] if a.key)
        more = f" and {len(group) - MAX_KEYS} more" if len(group) > MAX_KEYS else ""
        title = f"{bold}[RESOLVED] {esc(group[0].rule.title)}{bold}"
        blocks.append([title + (f": {keys}{more}" if keys else "")])
    blocks.append([f"Evaluated at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC."])
    if report:
        blocks.append([f"Full report: {esc(report)}"])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _measure(alert: Alert) -> str:
    rule = alert.rule
    noun = NOUNS.get(rule.view, rule.view.replace("_", " "))
    if rule.kind == "absence":
        return f"no {noun} at all"
    if rule.kind == "distinct":
        return f"{alert.value} distinct {rule.field} ({alert.count} {noun})"
    text = f"{alert.count} {noun}"
    per, baseline = format_duration(rule.window), format_duration(rule.baseline or rule.window)
    if alert.normal is None:
        return text
    if rule.new_only or alert.normal == 0:
        return f"{text}, none in the {baseline} before"
    if alert.normal < 1:
        return f"{text}; normally fewer than 1 per {per} (over the {baseline} before)"
    ratio = alert.count / alert.normal
    return f"{text}, {ratio:.1f}x normal ({alert.normal:.1f} per {per} over the {baseline} before)"


def _tops(alert: Alert) -> list[str]:
    return [
        f"top {column}: " + ", ".join(f"{value} ({n})" for value, n in pairs)
        for column, pairs in alert.top
        if pairs
    ]


def _since(alert: Alert) -> str:
    return f" (firing since {alert.since.astimezone(UTC):%H:%M} UTC)" if alert.since else ""


_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~"} | _HTML)


def escape_markdown(value: str) -> str:
    """Untrusted text (event values) shown literally in markdown and its HTML rendering."""
    return value.translate(_MD_SPECIAL)
