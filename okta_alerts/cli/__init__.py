"""The ``okta-alerts`` command line. Each command group lives in its own module here."""

from __future__ import annotations

import click

from okta_alerts import __version__
from okta_alerts.cli.common import OktaAlertsGroup


@click.group(cls=OktaAlertsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="okta-alerts")
def main() -> None:
    """Okta event hooks into DuckDB; lockout and assignment-error analytics and alerts."""


def _register() -> None:
    from okta_alerts.cli import demo_command, serve_command, simulate_command, store_commands

    for module in (serve_command, store_commands, simulate_command, demo_command):
        for command in module.COMMANDS:
            main.add_command(command)

    from okta_alerts.cli import alerts_command, backfill_command, schedule_command

    for module in (alerts_command, schedule_command, backfill_command):
        for command in module.COMMANDS:
            main.add_command(command)

    from okta_alerts.cli import report_command

    for command in report_command.COMMANDS:
        main.add_command(command)


_register()
