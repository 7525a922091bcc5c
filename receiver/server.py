"""Run the receiver: take the store's writer lock, listen, serve under uvicorn until a signal.

One process: Okta caps an org's hook at 400,000 events a day (4.6 a second) and one process
acknowledges tens of thousands a second. On SIGINT/SIGTERM uvicorn stops accepting, finishes the
requests in flight, and the app's lifespan commits and seals what was acknowledged.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import resource
import signal
import socket

import uvicorn

from okta_alerts.config import Settings
from okta_alerts.errors import ConfigError
from okta_alerts.store.writer import StoreWriter
from receiver.app import create_app
from receiver.auth import HookAuth
from receiver.connections import Limits, bounded_protocol

log = logging.getLogger("okta_alerts.receiver")
BACKLOG = 2048
OWN_FILES = 256  # the store's journals, segments and parts, DuckDB, logs: beside the sockets
GC_THRESHOLDS = (50_000, 20, 100)  # young, middle, old: fewer, cheaper collections


def run_receiver(
    settings: Settings, insecure_no_auth: bool = False, log_level: str = "info"
) -> None:
    """Serve ``settings.host``:``settings.port`` until SIGINT/SIGTERM; seal what was acknowledged.

    Raises ConfigError for a missing secret or a port it cannot listen on, StoreLockedError
    when another writer owns the data dir.
    """
    secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
    auth = HookAuth(settings.auth_header, secret, settings.custom_headers, insecure_no_auth)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if insecure_no_auth:
        log.warning(
            "authentication is OFF (--insecure-no-auth): anyone who can reach this port can write"
        )
    owner = f"okta-alerts serve on {settings.host}:{settings.port}"
    raise_open_files_limit(settings.max_connections)
    writer = StoreWriter(settings, owner, threads=1)
    try:
        listener = listen(settings.host, settings.port)
        app = create_app(settings, writer, auth)
        config = uvicorn.Config(
            app,
            http=bounded_protocol(limits(settings), app.state.metrics.connections_refused),
            ws="none",
            timeout_keep_alive=settings.keepalive_seconds,
            log_level=log_level,
            access_log=log_level == "debug",
            server_header=False,
            timeout_graceful_shutdown=10,
        )
        log.info(
            "listening on http://%s:%d (Press CTRL+C to quit)",
            settings.host,
            listener.getsockname()[1],
        )
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
        # handler that was installed before it: make that a no-op so the store is sealed below
        # and the process exits 0.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        quiet_garbage_collector()
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        writer.close(seal=True)


def limits(settings: Settings) -> Limits:
    return Limits(
        max_header_bytes=settings.max_header_bytes,
        header_seconds=settings.header_timeout_seconds,
        body_seconds=settings.body_timeout_seconds,
        max_connections=settings.max_connections,
    )


def raise_open_files_limit(connections: int) -> None:
    """Let the process open ``connections`` sockets and its own files: raise the soft limit of
    open files towards the hard one (systemd's soft default is 1,024); warn if it stays short."""
    needed = connections + OWN_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            "open files are limited to %d, under the %d that OKTA_ALERTS_MAX_CONNECTIONS=%d "
            "needs: raise LimitNOFILE (systemd) or ulimit -n, or lower the setting",
            soft,
            needed,
            connections,
        )


def listen(host: str, port: int) -> socket.socket:
    """The listening socket; ConfigError naming the address when it cannot be had."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family, backlog=BACKLOG)
    except OSError as exc:
        code = exc.errno or 0  # negative: a getaddrinfo code, named by strerror
        reason = os.strerror(code) if code > 0 else exc.strerror or str(exc)
        raise ConfigError(
            f"could not listen on {host}:{port} ({reason}); choose another --port or stop "
            "what listens there"
        ) from None


def quiet_garbage_collector() -> None:
    """Keep Python's full collections off the acknowledgement path.

    What is loaded at start (libraries, the app) lives as long as the process: frozen, the
    collector never scans it again. Deliveries make short-lived objects without cycles, so the
    young generation is collected less often and rarely promoted.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
