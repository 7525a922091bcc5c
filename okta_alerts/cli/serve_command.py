"""``okta-alerts serve``: the event-hook receiver under uvicorn, in one process."""

from __future__ import annotations

import logging
import signal

import click

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings


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
    run_receiver(
        settings, host=host, port=port, insecure_no_auth=insecure_no_auth, log_level=log_level
    )


def run_receiver(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    insecure_no_auth: bool = False,
    log_level: str = "info",
) -> None:
    """Run the receiver until SIGINT/SIGTERM. Raises OktaAlertsError for bad settings or a lock."""
    import uvicorn

    from okta_alerts.store import StoreWriter
    from receiver.app import create_app
    from receiver.auth import HookAuth

    if host or port is not None:
        settings = settings.model_copy(
            update={"host": host or settings.host, "port": settings.port if port is None else port}
        )
    secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
    auth = HookAuth(settings.auth_header, secret, settings.custom_headers, insecure_no_auth)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if insecure_no_auth:
        logging.getLogger("okta_alerts.receiver").warning(
            "authentication is OFF (--insecure-no-auth): anyone who can reach this port can write"
        )
    writer = StoreWriter(settings, owner=f"okta-alerts serve on {settings.host}:{settings.port}")
    try:
        app = create_app(settings, writer, auth)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            access_log=log_level == "debug",
            server_header=False,
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(config)
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
        # handler that was installed before it: make that a no-op so the store is sealed below
        # and the process exits 0.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        server.run()
        if not server.started:
            raise click.ClickException(f"could not listen on {settings.host}:{settings.port}")
    finally:
        writer.close(seal=True)


COMMANDS = [serve]
