"""``okta-alerts schedule`` (the scheduler) and ``okta-alerts run`` (receiver + scheduler)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
import orjson
from pydantic import SecretStr

from okta_alerts.cli.common import settings_options
from okta_alerts.config import CONFIG_ENV, Settings, env_name
from okta_alerts.errors import OktaAlertsError

STOP_GRACE = 60.0  # seconds a child gets to stop after SIGTERM before it is killed


@click.command("schedule")
@click.option("--once", is_flag=True, help="Run every job once now and exit (system cron, CI).")
@settings_options
def schedule(settings: Settings, once: bool) -> None:
    """Run the notebooks of the schedule file on their cron times, until Ctrl-C / SIGTERM.

    Each run is recorded in the state database; a failed run sends a failure notice through
    apprise; after downtime a missed job runs once; old outputs are deleted per job `keep`.
    """
    from okta_alerts.schedule import load_schedule, run_schedule

    _log_to_stderr()
    jobs = [j for j in load_schedule(settings.schedule) if j.enabled]
    # notebook kernels inherit our environment: let their alerting cell see these settings
    os.environ.pop(CONFIG_ENV, None)
    os.environ.update(settings_environment(settings))
    if once:
        outcomes = run_schedule(settings, once=True)
        for o in outcomes:
            click.echo(f"{o.status.upper():6} {o.job} in {o.seconds:.1f} s: {o.output or o.error}")
        failed = [o.job for o in outcomes if o.status != "ok"]
        if failed:
            raise OktaAlertsError(
                f"{len(failed)} of {len(outcomes)} jobs failed: {', '.join(failed)}"
            )
        return
    click.echo(f"Scheduler: {len(jobs)} jobs from {settings.schedule}; Ctrl-C to stop.", err=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops like Ctrl-C
    try:
        run_schedule(settings)
    except KeyboardInterrupt:
        click.echo("Scheduler stopped.", err=True)


@click.command("run")
@click.option("--host", help="Receiver address (default: $OKTA_ALERTS_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Receiver port (default: $OKTA_ALERTS_PORT or 8080).")
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Receiver accepts deliveries without the authentication header (local tests only).",
)
@settings_options
def run(settings: Settings, host: str | None, port: int | None, insecure_no_auth: bool) -> None:
    """The main job: the receiver and the scheduler together, until Ctrl-C / SIGTERM.

    Starts `okta-alerts serve` and `okta-alerts schedule` (and `okta-alerts poll` when
    OKTA_ALERTS_POLL_SECONDS > 0) as child processes with these settings, forwards Ctrl-C /
    SIGTERM to them and waits for them to stop. If one stops on its own, the others are
    stopped too and the exit code is non-zero.
    """
    serve = [sys.executable, "-m", "okta_alerts", "serve"]
    serve += ["--host", host] if host else []
    serve += ["--port", str(port)] if port is not None else []
    serve += ["--insecure-no-auth"] if insecure_no_auth else []
    commands = {"receiver": serve, "scheduler": [sys.executable, "-m", "okta_alerts", "schedule"]}
    if getattr(settings, "poll_seconds", 0) > 0:  # System Log polling, handed to the receiver
        # the poller hands its events to the receiver, which owns the data dir
        commands["poller"] = [sys.executable, "-m", "okta_alerts", "poll", "--via-receiver"]
    env = {k: v for k, v in os.environ.items() if k != CONFIG_ENV} | settings_environment(settings)
    supervise(commands, env)


def settings_environment(settings: Settings) -> dict[str, str]:
    """``OKTA_ALERTS_*`` variables that rebuild ``settings`` in a child process: the values that
    were set explicitly (secrets too: the environment of our own children, never printed)."""
    env = {}
    for name in sorted(settings.model_fields_set):
        value: Any = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict):
            value = orjson.dumps(value).decode()
        elif isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        elif isinstance(value, Path):
            value = value.resolve()
        env[env_name(name)] = str(value)
    return env


def supervise(commands: dict[str, list[str]], env: dict[str, str]) -> None:
    """Run ``commands`` as children until a signal or until one of them exits; stop them all."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    children: dict[str, subprocess.Popen[bytes]] = {}
    died: tuple[str, int] | None = None
    try:
        for name, command in commands.items():
            # own session: a terminal's Ctrl-C reaches only us, and we stop each child once
            children[name] = subprocess.Popen(command, env=env, start_new_session=True)
        while not stop.is_set() and died is None:
            died = next(
                ((n, c.returncode) for n, c in children.items() if c.poll() is not None), None
            )
            stop.wait(0.2)
    finally:
        codes = _stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if died is not None:
        name, code = died
        raise OktaAlertsError(
            f"the {name} stopped on its own (exit code {code}), so everything was stopped; "
            "its messages are above"
        )
    bad = {name: code for name, code in codes.items() if code != 0}
    if bad:
        detail = ", ".join(f"{name} exit code {code}" for name, code in bad.items())
        raise OktaAlertsError(f"did not stop cleanly: {detail}")
    click.echo(f"Stopped: {', '.join(children)}.", err=True)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"The {name} did not stop within {STOP_GRACE:g} s: killed.", err=True)
            child.kill()
            child.wait()
    return {name: child.returncode for name, child in children.items()}


def _log_to_stderr() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


COMMANDS = [schedule, run]
