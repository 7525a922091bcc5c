"""``okta-alerts okta``: set up Okta's event hook for this receiver, and check the whole feed."""

from __future__ import annotations

import click
import orjson

from okta_alerts.cli.common import CONFIG_FILE_META, settings_options, token_file_option
from okta_alerts.config import Settings, config_file_in_use
from okta_alerts.errors import PipelineUnhealthyError
from okta_alerts.eventhooks.connect import connect_hook
from okta_alerts.eventhooks.status import pipeline_status

NAME_HELP = "Name of the event hook in Okta (default: $OKTA_ALERTS_HOOK_NAME or okta-alerts)."


@click.group("okta")
def okta() -> None:
    """Connect this receiver to Okta (the event hook, as code) and check the whole feed."""


@okta.command("connect")
@click.option("--url", required=True, help="The receiver's public https URL, ending /hooks/okta.")
@click.option("--name", help=NAME_HELP)
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.option(
    "--filter/--no-filter",
    "use_filter",
    default=False,
    help="Okta's Early Access hook filters: only failures of the assignment types (a smaller "
    "share of Okta's 400,000 events a day).",
)
@settings_options
@token_file_option
def connect(
    settings: Settings, url: str, name: str | None, dry_run: bool, use_filter: bool
) -> None:
    """Create or update the Okta event hook that delivers to --url, verify and activate it.

    Works out the event types the views, alert rules and notebooks need; subscribes the hook to
    the hook-eligible ones (Okta's Event Types catalog, shipped with okta-alerts) and turns on
    System Log polling for the rest (poll_event_types and poll_seconds in the settings file).
    Needs OKTA_ALERTS_OKTA_ORG_URL, OKTA_ALERTS_AUTH_SECRET and an API token with
    okta.eventHooks.manage. Running it again changes nothing unless something differs.
    Example: okta-alerts okta connect --url https://alerts.example.com/hooks/okta
    """
    config_file = config_file_in_use(click.get_current_context().meta.get(CONFIG_FILE_META))
    report = connect_hook(
        settings,
        url,
        name or settings.hook_name,
        dry_run=dry_run,
        use_filter=use_filter,
        config_file=config_file,
    )
    click.echo("\n".join(report.lines()))


@okta.command("status")
@click.option("--name", help=NAME_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@settings_options
@token_file_option
def status(settings: Settings, name: str | None, as_json: bool) -> None:
    """Check the whole feed: Okta's hook, the receiver, deliveries, failures, budget, polling.

    One line per check, ✓ or ✗ with what to do. Exits 0 only when every check holds, else 7
    naming the first problem. Reads Okta with an API token with okta.eventHooks.read and
    okta.logs.read.
    """
    report = pipeline_status(settings, name or settings.hook_name)
    if as_json:
        click.echo(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo("\n".join(report.lines()))
    problem = report.first_problem
    if problem is not None:
        fix = f"; {problem.fix}" if problem.fix else ""
        raise PipelineUnhealthyError(f"{problem.name}: {problem.detail}{fix}")
