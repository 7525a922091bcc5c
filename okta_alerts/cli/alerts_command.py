"""``okta-alerts alerts``: check the rules and notify, list open alerts, silence, test targets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from okta_alerts.alerts.check import check_alerts
from okta_alerts.alerts.notify import test_targets
from okta_alerts.alerts.rules import load_rules
from okta_alerts.alerts.state import open_state
from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings
from okta_alerts.errors import NotifyError, RuleError
from okta_alerts.times import format_minute, parse_duration

RULES_HELP = (
    "Alert rules file (default: $OKTA_ALERTS_RULES or the shipped examples/alert-rules.yaml)."
)


@click.group("alerts")
def alerts() -> None:
    """Evaluate alert rules, send digests through apprise, manage open alerts."""


@alerts.command("check")
@click.option(
    "--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), help=RULES_HELP
)
@click.option("--dry-run", is_flag=True, help="Print the digest; send and record nothing.")
@click.option(
    "--end", metavar="TIME", help="Evaluation time, ISO 8601 (no offset means UTC). Default: now."
)
@settings_options
def check(settings: Settings, rules_path: Path | None, dry_run: bool, end: str | None) -> None:
    """Evaluate the alert rules now (or at --end), record the outcome and send one digest.

    Notifications that failed earlier are retried. When a target cannot be reached, it is named,
    the notification stays pending and the exit code is 4.
    """
    result = check_alerts(settings, rules_path, now=end, dry_run=dry_run)
    if result.digest is not None and (dry_run or result.no_targets):
        click.echo(result.digest.body)
    elif result.digest is None:
        click.echo("Nothing to announce.")
    click.echo(result.summary())
    if result.failures:
        raise NotifyError(
            f"could not deliver to {'; '.join(result.failures)}; the notification stays pending "
            "and is retried by the next check (test targets with `okta-alerts alerts test-notify`)"
        )


@alerts.command("list")
@settings_options
def list_alerts(settings: Settings) -> None:
    """Show open alerts, active silences and undelivered notifications."""
    now = datetime.now(UTC)
    if not settings.state_path.exists():
        click.echo("No alerts yet (no state in this data directory).")
        return
    with open_state(settings) as state:
        open_alerts, silences, counts = state.open_alerts(), state.silences(now), state.counts()
    if not open_alerts:
        click.echo("No open alerts.")
    for a in open_alerts:
        key = f" [{a.key}]" if a.key else ""
        peak = f" (peak {a.peak})" if a.peak is not None else ""
        click.echo(
            f"{a.severity.upper():8} {a.rule_id}{key}: {a.count} at last check{peak}; "
            f"open since {_when(a.opened_at)}, last seen {_when(a.last_seen_at)}"
        )
    for s in silences:
        click.echo(
            f"silenced  {s.rule_id}" + (f" [{s.key}]" if s.key else "") + f" until {_when(s.until)}"
        )
    pending = counts.get("pending", 0)
    click.echo(f"{pending} notifications pending, {counts.get('failed', 0)} undeliverable.")


@alerts.command("silence")
@click.argument("rule_id", metavar="RULE")
@click.option("--key", help="Only this key (as `alerts list` shows it); default: every key.")
@click.option("--for", "duration", required=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option(
    "--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), help=RULES_HELP
)
@settings_options
def silence(
    settings: Settings, rule_id: str, key: str | None, duration: str, rules_path: Path | None
) -> None:
    """Suppress notifications of RULE (or one of its keys) for a while."""

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    ids = [r.id for r in load_rules(rules_path or settings.rules)]
    if rule_id not in ids:
        raise RuleError(f"no rule {rule_id!r} in the rules file; rules: {', '.join(ids)}")
    now = datetime.now(UTC)
    with open_state(settings) as state:
        state.silence(rule_id, key, now, now + length)
    what = f"{rule_id} [{key}]" if key else f"{rule_id} (every key)"
    click.echo(f"Silenced {what} until {_when(now + length)}.")


@alerts.command("test-notify")
@settings_options
def test_notify(settings: Settings) -> None:
    """Send a test message to every configured apprise target and report each result."""
    results = test_targets(settings)
    if not results:
        raise NotifyError(
            "no apprise targets configured: set OKTA_ALERTS_APPRISE_URLS or "
            "OKTA_ALERTS_APPRISE_CONFIG"
        )
    for target, failure in results:
        click.echo(f"{'FAILED' if failure else 'OK':6} {failure or f'{target.name} {target.url}'}")
    failed = sum(1 for _, failure in results if failure)
    if failed:
        raise NotifyError(f"{failed} of {len(results)} targets failed; see above")


def _when(when: datetime) -> str:
    return format_minute(when) + " UTC"
