"""The ``okta-alerts`` command line. Each command (or group) lives in its own module here.

Commands are loaded when they are run (click's lazy-loading pattern), so ``serve`` carries only
the receiver's imports and ``--help`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from okta_alerts import __version__
from okta_alerts.cli.common import OktaAlertsGroup

# command name -> "module:attribute" under okta_alerts.cli
COMMANDS = {
    "serve": "serve_command:serve",
    "ingest": "store_commands:ingest",
    "query": "store_commands:query",
    "status": "store_commands:status",
    "compact": "store_commands:compact",
    "simulate": "simulate_command:simulate",
    "demo": "demo_command:demo",
    "alerts": "alerts_command:alerts",
    "schedule": "schedule_command:schedule",
    "run": "schedule_command:run",
    "backfill": "backfill_command:backfill",
    "poll": "backfill_command:poll",
    "report": "report_command:report",
    "okta": "okta_command:okta",
}


class LazyGroup(OktaAlertsGroup):
    """A group whose subcommands are imported only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command: Any = getattr(importlib.import_module(f"okta_alerts.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="okta-alerts")
def main() -> None:
    """Okta event hooks into DuckDB; lockout and assignment-error analytics and alerts."""
