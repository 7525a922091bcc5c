"""``okta-alerts serve``: the event-hook receiver under uvicorn, with its front processes."""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import time

import click

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings

# Each front listens on this many of the port's SO_REUSEPORT sockets, the main process on one: the
# kernel spreads connections evenly over sockets, and the main process also commits for everyone.
FRONT_SHARE = 2
LISTEN_RETRY_SECONDS = 3.0  # "address in use" while a killed receiver's fronts let go of the port


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
    "--workers",
    type=click.IntRange(0, 64),
    help="Extra HTTP front processes; 0 = one process (default: $OKTA_ALERTS_WORKERS, or CPU "
    "cores - 1, at most 3).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    insecure_no_auth: bool,
    workers: int | None,
    log_level: str,
) -> None:
    """Receive Okta event hooks on /hooks/okta and store the events.

    Answers Okta's verification GET, checks the authentication header (and custom headers) on
    every request, and acknowledges a delivery only once its events are durable on disk. HTTP
    and parsing are shared by the main process and --workers front processes on the same port;
    the main process alone writes the store. Stop it with Ctrl-C or SIGTERM: what was
    acknowledged is sealed before it exits.
    """
    run_receiver(
        settings,
        host=host,
        port=port,
        insecure_no_auth=insecure_no_auth,
        workers=workers,
        log_level=log_level,
    )


def run_receiver(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    insecure_no_auth: bool = False,
    workers: int | None = None,
    log_level: str = "info",
) -> None:
    """Run the receiver and its front processes until SIGINT/SIGTERM.

    Raises OktaAlertsError for bad settings or a lock, ClickException if it cannot listen.
    """
    import uvicorn

    from okta_alerts.store import StoreWriter
    from receiver.app import create_app
    from receiver.auth import HookAuth
    from receiver.front import FrontConfig
    from receiver.fronts import Fronts, ReceiverServer

    update = {"host": host or None, "port": port, "workers": workers}
    settings = settings.model_copy(update={k: v for k, v in update.items() if v is not None})
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
    fronts = None
    try:
        sockets = _listen(settings.host, settings.port, 1 + settings.workers * FRONT_SHARE)
        if settings.workers:
            config = FrontConfig(
                settings.auth_header,
                secret,
                settings.custom_headers,
                insecure_no_auth,
                settings.max_body_bytes,
                log_level,
            )
            shares = [sockets[i : i + FRONT_SHARE] for i in range(1, len(sockets), FRONT_SHARE)]
            fronts = Fronts(shares, config)
        app = create_app(settings, writer, auth, fronts)
        server = ReceiverServer(
            uvicorn.Config(
                app,
                log_level=log_level,
                access_log=log_level == "debug",
                server_header=False,
                timeout_graceful_shutdown=10,
            ),
            fronts,
        )
        logging.getLogger("okta_alerts.receiver").info(
            "listening on http://%s:%d with %d front process(es) (Press CTRL+C to quit)",
            settings.host, sockets[0].getsockname()[1], settings.workers,
        )  # fmt: skip
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
        # handler that was installed before it: make that a no-op so the store is sealed below
        # and the process exits 0.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        server.run(sockets=sockets[:1])
    finally:
        if fronts is not None:
            fronts.kill()  # only after a forced quit is one still running
        writer.close(seal=True)


def _listen(host: str, port: int, count: int) -> list[socket.socket]:
    """The listening sockets, one per process; "address in use" is retried for a few seconds,
    because the front processes of a receiver killed just now keep the port until they notice
    (about a second)."""
    from receiver.fronts import listen_sockets

    deadline = time.monotonic() + LISTEN_RETRY_SECONDS
    while True:
        try:
            return listen_sockets(host, port, count)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                code = exc.errno or 0  # negative: a getaddrinfo code, named by strerror
                reason = os.strerror(code) if code > 0 else exc.strerror or str(exc)
                raise click.ClickException(
                    f"could not listen on {host}:{port} ({reason})"
                ) from None
        time.sleep(0.2)


COMMANDS = [serve]
