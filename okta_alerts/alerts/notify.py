"""Chat notifications through apprise: targets, sending, and delivery with retries.

Targets come from ``settings.apprise_config`` (an apprise YAML/TEXT file) or, without one, from
``settings.apprise_urls``. Each target knows what its apprise service takes: the format it
renders (text, markdown or HTML) and its body limit (``body_maxlen``; Discord 2,000 characters
with the title, Teams Workflows 1,000), so a digest is written for it in that format and within
that limit. Each notification records the targets it is for (apprise url ids) and those that
have it; an attempt sends only to the others, so a retry never repeats a message to a
target that got it. Only an ``AppriseResult`` whose status is ``SUCCESS`` (or ``True`` from older
apprise) counts as delivered; ``PARTIAL``, ``FAILURE``, ``NOMATCH``, ``TIMEOUT``, ``False`` and
``None`` do not. Failed target names are shown with secrets masked (``url(privacy=True)``).
What a digest says is :mod:`okta_alerts.alerts.digest`'s. Apprise is imported when a message is
sent or targets are loaded, not when a notebook imports the alerting cell.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from okta_alerts.alerts.formats import FORMATS
from okta_alerts.alerts.state import State
from okta_alerts.config import Settings
from okta_alerts.errors import NotifyError

log = logging.getLogger(__name__)
SEND_TIMEOUT = 30.0  # seconds apprise may spend on one send call


@dataclass(frozen=True)
class Target:
    """One configured apprise service; ``url`` has its secrets masked. ``fmt`` is the format it
    renders, ``limit`` the characters its body may have (title included where the service puts
    the title into the body)."""

    id: str
    name: str
    url: str
    tags: tuple[str, ...]
    server: Any = field(repr=False, compare=False)
    fmt: str = "markdown"
    limit: int | None = None
    title_in_body: bool = False

    def budget(self, title: str) -> int | None:
        """The characters a body with this ``title`` may have."""
        if self.limit is None:
            return None
        return max(self.limit - (len(title) + 2 if self.title_in_body else 0), 200)


@dataclass
class Delivery:
    """Outcome of one attempt: ids that got it, and ``"<name> <masked url>: <why>"`` failures."""

    delivered: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _apprise() -> Any:
    import apprise  # deferred: notebooks import the alerting cell, which sends rarely

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
    limit = getattr(server, "body_maxlen", None)
    title_limit = getattr(server, "title_maxlen", None)
    together = bool(getattr(server, "overflow_amalgamate_title", False)) or (
        isinstance(title_limit, int) and title_limit <= 0
    )
    return Target(
        str(url_id or masked),
        str(server.service_name),
        masked,
        tags,
        server,
        target_format(server),
        int(limit) if isinstance(limit, int) and limit > 0 else None,
        together,
    )


def target_format(server: Any) -> str:
    """The format a service renders when offered markdown: ``markdown`` where it takes it,
    else its own (``html`` for e-mail, ``text`` for SMS and the like)."""
    apprise = _apprise()
    resolve = getattr(server, "resolve_format", None)
    chosen = resolve(apprise.NotifyFormat.MARKDOWN) if callable(resolve) else None
    if chosen is None:  # apprise before 2: one declared format
        chosen = getattr(server, "notify_format", apprise.NotifyFormat.TEXT)
    value = str(getattr(chosen, "value", chosen))
    return value if value in FORMATS else "text"


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
    body: str,
    body_format: str = "text",
    notify_type: str = "info",
    attachment: tuple[str, bytes] | None = None,
) -> Delivery:
    """Send one message, written in ``body_format`` (text, markdown or html), to ``targets``."""
    apprise = _apprise()
    delivery = Delivery()
    if not targets:
        return delivery
    bundle = apprise.Apprise()
    for target in targets:
        bundle.add(target.server)
    kwargs: dict[str, Any] = {
        "title": title,
        "notify_type": apprise.NotifyType(notify_type),
        "body_format": apprise.NotifyFormat(body_format),
    }
    if attachment is not None:
        kwargs["attach"] = _attach(apprise, *attachment)
    if "timeout" in inspect.signature(bundle.notify).parameters:  # apprise >= 2
        kwargs["timeout"] = SEND_TIMEOUT
    try:
        result = bundle.notify(body=body, **kwargs)
    except Exception as exc:  # a plugin bug must not lose the notification
        result = None
        log.warning("apprise raised %s", type(exc).__name__)
    _collect(list(targets), result, delivery)
    return delivery


def _attach(apprise: Any, name: str, data: bytes) -> Any:
    from apprise.attachment.memory import AttachMemory  # deferred: as apprise itself

    attachments = apprise.AppriseAttachment()
    png = AttachMemory(  # type: ignore[no-untyped-call]
        content=data, name=name, mimetype="image/png"
    )
    attachments.add(png)
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
    return str(messages[-1] if messages else outcome.status.name)


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
        result = send(
            todo, note.title, note.body, note.body_format, note.notify_type, note.attachment
        )
        state.attempted(note, now, result.delivered, "; ".join(result.failures) or None)
        total.delivered += result.delivered
        total.failures += result.failures
    return total


def test_targets(settings: Settings) -> list[tuple[Target, str | None]]:
    """Send a test message to each target separately; (target, None or the failure)."""
    results = []
    for target in load_targets(settings):
        body = {
            "markdown": "This is a **test** from `okta-alerts alerts test-notify`.",
            "html": "This is a <b>test</b> from <code>okta-alerts alerts test-notify</code>.",
        }.get(target.fmt, "This is a test from okta-alerts alerts test-notify.")
        outcome = send([target], "okta-alerts test", body, target.fmt)
        results.append((target, outcome.failures[0] if outcome.failures else None))
    return results
