"""``okta-alerts demo``: the whole loop on a fresh machine, no Okta needed."""

from __future__ import annotations

from pathlib import Path

import click

from okta_alerts.cli.common import config_option
from okta_alerts.config import Settings
from okta_alerts.sim.demo import run_demo


@click.command()
@config_option
@click.option(
    "--data-dir",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its data (default: DATA_DIR/demo, i.e. ./data/demo); its events "
    "and alert state are replaced on every run.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.option("--days", type=int, default=14, show_default=True, help="Days of history.")
def demo(settings: Settings, demo_dir: Path | None, seed: int, days: int) -> None:
    """Run the whole loop with the simulator playing Okta.

    Simulates two weeks of history, starts the receiver on loopback with a generated secret,
    delivers the last two hours over HTTP like Okta (handshake, auth header, batches, re-sends)
    including a lockout storm and a provisioning outage, and shows what was stored. Then runs
    the lockouts and assignment-errors notebooks through papermill, evaluates the alert rules
    and prints the digest (or sends it, when apprise targets are configured).
    """
    target = demo_dir or settings.data_dir / "demo"
    result = run_demo(settings.model_copy(update={"data_dir": target}), seed, days)
    click.echo("\nHTML reports:")
    for path in result.reports.values():
        click.echo(f"  {path}")
    click.echo(f"Alerts fired: {', '.join(result.firing) or 'none'}")
    click.echo(
        f"Demo data: {result.data_dir}  (explore: okta-alerts query "
        f'"SELECT * FROM lockouts LIMIT 5" --data-dir {result.data_dir}, or make lab)'
    )
