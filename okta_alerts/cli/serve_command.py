"""``okta-alerts serve``: the event-hook receiver under uvicorn."""

from __future__ import annotations

import click

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings
from receiver.server import run_receiver


@click.command()
@settings_options
@click.option("--host", help="Address to listen on (default: $OKTA_ALERTS_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: $OKTA_ALERTS_PORT or 8080).")
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Accept deliveries without the authentication header (local tests only).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    settings: Settings, host: str | None, port: int | None, insecure_no_auth: bool, log_level: str
) -> None:
    """Receive Okta event hooks on /hooks/okta and store the events.

    Answers Okta's verification GET, checks the authentication header (and custom headers) on
    every request, and acknowledges a delivery only once its events are durable on disk. Stop it
    with Ctrl-C or SIGTERM: what was acknowledged is sealed before it exits.
    """
    update = {"host": host or None, "port": port}
    settings = settings.model_copy(update={k: v for k, v in update.items() if v is not None})
    run_receiver(settings, insecure_no_auth=insecure_no_auth, log_level=log_level)
