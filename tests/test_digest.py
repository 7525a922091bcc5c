"""The digest per target: its format, its body limit, plurals, links, and event text shown as
it was (escaped once, for the target's format)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from okta_alerts.alerts.digest import DigestOptions, render_digest
from okta_alerts.alerts.evaluate import Alert
from okta_alerts.alerts.formats import Style, admin_origin, plural
from okta_alerts.alerts.notify import load_targets
from okta_alerts.alerts.rules import Rule, parse_rules
from tests.support.settings import make_settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
NASTY = "<br> *bold* _it_ [link](x) `code` &lt;b&gt; jane_doe ~~x~~ \\ |a|"


def rules(*raw: dict[str, Any]) -> list[Rule]:
    base = {"view": "lockouts", "kind": "threshold", "window": "1h", "threshold": 1}
    return parse_rules([{**base, **r} for r in raw])


SPRAY, ERRORS, SILENT = rules(
    {"id": "spray", "title": "Password spray", "kind": "spray", "group_by": ["client_ip"],
     "field": "actor_alternate_id", "threshold": 5, "severity": "critical",
     "top": ["actor_alternate_id", "as_org"]},
    {"id": "errors", "title": "App errors", "view": "assignment_errors", "group_by": ["app_name"],
     "top": ["reason_key", "user_login"]},
    {"id": "silent", "title": "No Okta events", "view": "events", "kind": "absence",
     "threshold": None, "window": "2h", "severity": "high"},
)  # fmt: skip


def firing(rule: Rule, key: str, count: int = 1, **more: Any) -> Alert:
    labels = ((rule.group_by[0], key),) if getattr(rule, "group_by", ()) else ()  # type: ignore[attr-defined]
    return Alert(rule, key, "firing", NOW - HOUR, NOW, labels, count, count, **more)


def visible(markdown: str) -> str:
    """What a CommonMark renderer shows of ``markdown``: its text, tags dropped."""
    rendered = MarkdownIt("commonmark").render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def test_event_text_is_escaped_once_for_each_format() -> None:
    alert = firing(ERRORS, NASTY, 3, top=(("reason_key", ((NASTY, 3),)),))
    text, md, page = (render_digest([alert], NOW, DigestOptions(f)).body
                      for f in ("text", "markdown", "html"))  # fmt: skip
    assert text.count(NASTY) == 2  # plain: as it was
    assert visible(md).count(NASTY) == 2  # markdown: shown as it was, no escape visible
    assert "&lt;br&gt;" not in visible(md) and "\\_" not in visible(md)
    assert "jane_doe" in md  # an underscore inside a word cannot format: left alone
    assert html.unescape(re.sub(r"<[^>]+>", "", page)).count(NASTY) == 2
    assert "<br> *bold*" not in page


def test_plurals() -> None:
    one = render_digest([firing(ERRORS, "Slack", 1)], NOW).body
    many = render_digest([firing(ERRORS, "Slack", 2)], NOW).body
    assert "Slack: 1 assignment error\n" in one and "1 assignment errors" not in one
    assert "2 assignment errors" in many
    assert plural(1, "IP address", "IP addresses") == "1 IP address"
    assert plural(1204, "lockout") == "1,204 lockouts"


def test_most_severe_first_and_a_known_network_downgraded_in_its_own_block() -> None:
    office = firing(
        SPRAY,
        "12.153.224.7",
        40,
        severity="info",
        notes=("known network (zone HQ San Francisco; all events): severity info",),
    )
    attacker = firing(SPRAY, "203.0.113.66", 12)
    body = render_digest([firing(ERRORS, "Slack"), office, attacker], NOW).body  # fmt: skip
    order = [body.index(s) for s in ("[CRITICAL] Password spray", "[WARNING] App errors",
                                     "[INFO] Password spray")]  # fmt: skip
    assert order == sorted(order)
    assert "known network (zone HQ San Francisco" in body


@pytest.mark.parametrize("limit", [1000, 2000])
def test_a_body_limit_keeps_the_most_severe_and_points_to_the_rest(limit: int) -> None:
    top = (("actor_alternate_id", (("user@example.com", 3),)),)
    note = ("no successful sign-in from it in the 14d before",)
    alerts = [firing(SPRAY, f"203.0.113.{i}", 12, top=top, notes=note) for i in range(30)]
    alerts += [firing(ERRORS, f"App {i}", 20) for i in range(20)] + [firing(SILENT, "")]
    digest = render_digest(alerts, NOW, DigestOptions("markdown", limit))
    assert len(digest.body) <= limit and digest.omitted > 0
    assert digest.body.startswith("**[CRITICAL] Password spray**")
    assert f"{digest.omitted} more alerts not listed" in digest.body
    assert "`okta-alerts alerts list`" in digest.body
    assert "Lockouts report: `okta-alerts report lockouts -p end 2026-11-30T12:00Z`" in digest.body
    whole = render_digest(alerts, NOW, DigestOptions("markdown"))
    assert whole.omitted == 20 + 10 and len(whole.body) > 2000  # MAX_KEYS keys per rule
    assert digest.omitted > whole.omitted


def test_reports_are_the_matching_ones() -> None:
    reports = {
        "lockouts": "data/reports/lockouts-hourly/a.html",
        "assignment_errors": "https://reports.example.com/assignment_errors/b.html",
    }
    body = render_digest([firing(ERRORS, "Slack")], NOW, DigestOptions("markdown", None, None,
                         reports)).body  # fmt: skip
    assert "Assignment errors report: [https://reports.example.com" in body
    assert "lockouts-hourly" not in body  # only the report of the rules in the digest


def test_links_to_the_admin_console_where_the_org_url_is_set() -> None:
    user = firing(SPRAY, "jane@example.com", 5, refs=(("user", "00u1abc", ""),))
    app = firing(ERRORS, "Salesforce.com", 2, refs=(("app", "0oa9xyz", "salesforce"),))
    body = render_digest([user, app], NOW, DigestOptions("markdown", None,
                         "https://acme.okta.com")).body  # fmt: skip
    assert "[jane@example.com](https://acme-admin.okta.com/admin/user/profile/view/00u1abc)" in body
    assert "(https://acme-admin.okta.com/admin/app/salesforce/instance/0oa9xyz/)" in body
    assert "admin/" not in render_digest([user, app], NOW, DigestOptions("markdown")).body
    assert admin_origin("https://acme.oktapreview.com") == "https://acme-admin.oktapreview.com"
    assert admin_origin("https://login.acme.com") == "https://login.acme.com"


def test_repeats_and_resolved_alerts_carry_their_life() -> None:
    again = firing(SPRAY, "203.0.113.66", 18, since=NOW - timedelta(minutes=45), peak=25,
                   total=60)  # fmt: skip
    gone = Alert(ERRORS, "Slack", "resolved", NOW - 2 * HOUR, NOW, since=NOW - 2 * HOUR, peak=14,
                 total=40)  # fmt: skip
    body = render_digest([again, gone], NOW).body
    assert (
        "18 accounts (18 lockouts); firing since 11:15 UTC (45m), peak 25, 60 accounts in all"
        in body
    )
    assert "- Slack: open 10:00–12:00 UTC (2h); peak 14 assignment errors in 1h, 40" in body


def test_each_service_says_its_format_and_limit(tmp_path: Path) -> None:
    urls = ["discord://1234567/abcdefg", "workflows://prod-00.westus.logic.azure.com:443/abc/sig",
            "mailto://user:pass@example.com", "json://127.0.0.1:9/hook"]  # fmt: skip
    targets = load_targets(make_settings(tmp_path, apprise_urls=" ".join(urls)))
    shapes = [(t.fmt, t.limit, t.title_in_body) for t in targets]
    assert shapes[:3] == [("markdown", 2000, True), ("markdown", 1000, False),
                          ("html", 32768, False)]  # fmt: skip
    assert targets[0].budget("Okta alerts: 2 firing") == 2000 - len("Okta alerts: 2 firing") - 2


def test_html_style_escapes_and_links() -> None:
    style = Style("html")
    assert style.escape("<b>&") == "&lt;b&gt;&amp;"
    assert style.link("x", 'https://a/"b') == '<a href="https://a/&quot;b">x</a>'
    assert Style("markdown").code("a`b") == "`a'b`"


def test_the_matching_report_is_this_runs_else_the_schedules_else_report_commands(
    tmp_path: Path,
) -> None:
    from okta_alerts.alerts.check import report_links
    from okta_alerts.alerts.state import open_state

    settings = make_settings(tmp_path)
    written = settings.reports_dir / "assignment_errors" / "2026-11-30T110000Z.html"
    written.parent.mkdir(parents=True)
    written.write_text("<html></html>")
    with open_state(settings) as state:
        run = state.start_run("lockouts-hourly", "lockouts", NOW, NOW)
        state.finish_run(run, NOW, "ok", "data/reports/lockouts-hourly/a.html", None)
        assert report_links(settings, [SPRAY, ERRORS, SILENT], None, state) == {
            "lockouts": "data/reports/lockouts-hourly/a.html",
            "assignment_errors": str(written),
        }
        given = {"lockouts": "this-run.html"}
        assert report_links(settings, [SPRAY], given, state) == {"lockouts": "this-run.html"}
