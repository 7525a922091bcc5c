"""``okta-alerts demo``: the whole loop on a fresh machine, no Okta needed."""

from __future__ import annotations

from pathlib import Path

import click

from okta_alerts.config import load_settings


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/demo"),
    show_default=True,
    help="Where the demo keeps its data; its events are replaced on every run.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.option("--days", type=int, default=14, show_default=True, help="Days of history.")
def demo(data_dir: Path, seed: int, days: int) -> None:
    """Run the whole loop with the simulator playing Okta.

    Simulates two weeks of history, starts the receiver on loopback with a generated secret,
    delivers the last two hours over HTTP like Okta (handshake, auth header, batches, re-sends)
    including a lockout storm and a provisioning outage, and shows what was stored. Then runs
    the lockouts and assignment-errors notebooks through papermill, evaluates the alert rules
    and prints the digest (or sends it, when apprise targets are configured).
    """
    from okta_alerts.demo import run_demo

    settings = load_settings(overrides={"data_dir": data_dir})
    result = run_demo(settings, seed=seed, history_days=days)
    click.echo("\nHTML reports:")
    for path in result.reports:
        click.echo(f"  {path}")
    click.echo(f"Alerts fired: {', '.join(result.firing) or 'none'}")
    click.echo(
        f"Demo data: {result.data_dir}  (explore: okta-alerts query "
        f'"SELECT * FROM lockouts LIMIT 5" --data-dir {result.data_dir}, or make lab)'
    )


COMMANDS = [demo]
