"""``okta-alerts run``: the receiver, the scheduler and the poller as child processes.

Each child is a plain ``okta-alerts`` command in its own session (so a terminal's Ctrl-C reaches
only the supervisor, which stops each child once) with the settings in its environment
(:func:`okta_alerts.config.child_environment`). A signal stops them all; so does one child
stopping on its own, which makes the exit code non-zero.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

from okta_alerts.config import Settings, child_environment
from okta_alerts.errors import OktaAlertsError

log = logging.getLogger(__name__)
STOP_GRACE = 60.0  # seconds a child gets to stop after SIGTERM before it is killed
POLL = 0.2  # seconds between checks of the children
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main_job_commands(
    settings: Settings, host: str | None, port: int | None, insecure_no_auth: bool
) -> dict[str, list[str]]:
    """The children of ``okta-alerts run``: receiver and scheduler, plus the poller when
    ``poll_seconds`` > 0 (it hands its events to the receiver, which owns the data dir)."""
    command = [sys.executable, "-m", "okta_alerts"]
    serve = [*command, "serve"]
    serve += ["--host", host] if host else []
    serve += ["--port", str(port)] if port is not None else []
    serve += ["--insecure-no-auth"] if insecure_no_auth else []
    commands = {"receiver": serve, "scheduler": [*command, "schedule"]}
    if settings.poll_seconds > 0:
        commands["poller"] = [*command, "poll", "--via-receiver"]
    return commands


def supervise(settings: Settings, commands: dict[str, list[str]]) -> list[str]:
    """Run ``commands`` until a signal or until one of them exits; stop them all.

    Returns the names of the children, all stopped cleanly; raises OktaAlertsError when one
    stopped on its own or did not stop cleanly.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    children: dict[str, subprocess.Popen[bytes]] = {}
    died: tuple[str, int] | None = None
    env = child_environment(settings)
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, env=env, start_new_session=True)
        while not stop.is_set() and died is None:
            died = next(
                ((n, c.returncode) for n, c in children.items() if c.poll() is not None), None
            )
            stop.wait(POLL)
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
    # A child that our SIGTERM found still starting up (before it set its own handler) ends with
    # -SIGTERM: it had not begun any work, so that is a clean stop too.
    bad = {name: code for name, code in codes.items() if code not in (0, -signal.SIGTERM)}
    if bad:
        detail = ", ".join(f"{name} exit code {code}" for name, code in bad.items())
        raise OktaAlertsError(f"did not stop cleanly: {detail}")
    return list(children)


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("the %s did not stop within %g s: killed", name, STOP_GRACE)
            child.kill()
            child.wait()
    return {name: child.returncode for name, child in children.items()}
