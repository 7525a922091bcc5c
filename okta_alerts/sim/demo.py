"""``okta-alerts demo``: the whole loop on this machine, with the simulator playing Okta.

History goes straight into the store; then a real receiver starts on loopback with a generated
secret and the simulator delivers the last two hours over HTTP the way Okta does (verification
handshake, authenticated batches, a few re-sends), including a lockout storm and a provisioning
outage. The demo then shows what was stored, runs both notebooks through papermill, evaluates
the alert rules at the same time, and prints the digest (or sends it, when apprise targets are
configured) and where the HTML reports are.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

import okta_alerts
from okta_alerts.alerts.check import check_alerts
from okta_alerts.config import Settings
from okta_alerts.errors import OktaAlertsError
from okta_alerts.reports.runner import run_report
from okta_alerts.sim.hookclient import post_deliveries
from okta_alerts.sim.simulate import batch_deliveries, event_batches, generate_events
from okta_alerts.store.writer import write_batches

LIVE_HOURS = 2
SCENARIOS = ("lockout-storm", "provisioning-outage")


@dataclass
class DemoResult:
    data_dir: Path
    history_events: int = 0
    deliveries: int = 0
    acknowledged_events: int = 0
    stored: dict[str, int] = field(default_factory=dict)
    reports: dict[str, Path] = field(default_factory=dict)
    firing: list[str] = field(default_factory=list)
    digest: str | None = None


def run_demo(
    settings: Settings, seed: int = 7, history_days: int = 14, console: Console | None = None
) -> DemoResult:
    """The whole loop in the data dir of ``settings``, told on ``console`` (stderr by default)."""
    out = console or Console(stderr=True)
    result = DemoResult(settings.data_dir)
    _clean_slate(settings.data_dir)
    end = datetime.now(UTC).replace(microsecond=0)
    live_start = end - timedelta(hours=LIVE_HOURS)
    _store_history(settings, seed, history_days, live_start, result, out)
    _deliver_live(settings, seed, live_start, end, result, out)
    _show_stored(settings.data_dir, live_start, result, out)
    _run_reports(settings, end, result, out)
    _replay_alerts(settings, live_start, result, out)
    return result


def _clean_slate(data_dir: Path) -> None:
    """Drop the stored events and the alert state of an earlier run."""
    if (data_dir / "events").exists():
        shutil.rmtree(data_dir / "events")
    for state in (data_dir / "state.duckdb", data_dir / "state.duckdb.wal"):
        state.unlink(missing_ok=True)  # the demo's alerts start from a clean slate each run
    data_dir.mkdir(parents=True, exist_ok=True)


def _store_history(
    settings: Settings, seed: int, days: int, until: datetime, result: DemoResult, out: Console
) -> None:
    """``days`` of normal traffic before ``until``, written straight into the store."""
    out.rule("1. History")
    out.print(f"Simulating {days} days of normal traffic into {settings.data_dir} (the baseline)…")
    history = generate_events(seed, until - timedelta(days=days), until)
    result.history_events = write_batches(settings, event_batches(history))
    out.print(f"stored {result.history_events} events")


def _deliver_live(
    settings: Settings,
    seed: int,
    start: datetime,
    end: datetime,
    result: DemoResult,
    out: Console,
) -> None:
    """``start``..``end`` with the scenarios, delivered like Okta to a receiver started for it."""
    out.rule("2. Okta event hook → receiver")
    secret = secrets.token_urlsafe(24)
    port = _free_port()
    receiver = _start_receiver(settings.data_dir, port, secret)
    url = f"http://127.0.0.1:{port}/hooks/okta"
    try:
        out.print(f"receiver listening on {url} (secret generated for this run)")
        live = generate_events(seed + 1, start, end, scenarios=SCENARIOS)
        envelopes = batch_deliveries(live, seed, max_batch=50, duplicate_rate=0.03)
        headers = {settings.auth_header: secret, **settings.custom_headers}
        posted = post_deliveries(url, envelopes, headers=headers, concurrency=4, progress=True)
        result.deliveries = posted.sent
        result.acknowledged_events = posted.events_acknowledged
        out.print(f"verification handshake passed; {posted.summary()}")
        if posted.rejected:
            raise OktaAlertsError(f"the receiver rejected deliveries: {posted.errors[:3]}")
        _wait_until_sealed(f"http://127.0.0.1:{port}/healthz")
    finally:
        _stop(receiver)


def _show_stored(data_dir: Path, live_start: datetime, result: DemoResult, out: Console) -> None:
    """The rows of each view, and the live period's most frequent assignment errors."""
    out.rule("3. What is stored")
    con = okta_alerts.connect(data_dir)
    for view in ("events", "lockouts", "unlocks", "assignment_errors"):
        row = con.execute(f"SELECT count(*) FROM {view}").fetchone()
        result.stored[view] = int(row[0]) if row else 0
    table = Table("view", "rows", title="okta_alerts.connect() views")
    for view, count in result.stored.items():
        table.add_row(view, str(count))
    out.print(table)
    top = con.execute(
        "SELECT app_name, reason, count(*) AS n FROM assignment_errors WHERE published >= ? "
        "GROUP BY ALL ORDER BY n DESC LIMIT 3",
        [live_start],
    ).fetchall()
    for app, reason, n in top:
        out.print(f"  assignment errors in the last {LIVE_HOURS} h: {n} × {app}: {reason}")
    con.close()


def _run_reports(settings: Settings, end: datetime, result: DemoResult, out: Console) -> None:
    """Both report notebooks over the 24 hours to ``end``, through papermill."""
    out.rule("4. Reports (papermill)")
    for name in ("lockouts", "assignment_errors"):
        report = run_report(settings, name, {"end": end.isoformat(), "window_hours": 24})
        assert report.html is not None
        result.reports[name] = report.html
        figures = ", ".join(f"{k}={v}" for k, v in list(report.figures.items())[:4])
        out.print(f"{name}: {report.html}  ({report.seconds:.1f} s; {figures})")


def _replay_alerts(
    settings: Settings, live_start: datetime, result: DemoResult, out: Console
) -> None:
    """The alert checks the schedule would have made during the live period."""
    out.rule("5. Alerts")
    # The shipped schedule checks the rules every 15 minutes: replay those checks over the live
    # window, with real state, so cooldowns apply as they would.
    send = bool(settings.apprise_config or settings.apprise_url_list)
    steps = [live_start + timedelta(minutes=15 * i) for i in range(1, LIVE_HOURS * 4 + 1)]
    reports = {name: str(path) for name, path in result.reports.items()}
    for when in steps:
        check = check_alerts(settings, now=when, reports=reports)
        result.firing += [alert.rule.id for alert in check.evaluation.firing]
        if check.digest is None:
            continue
        result.digest = check.digest.body
        out.print(f"[bold]Check at {when:%H:%M} UTC:[/bold] {check.summary()}")
        if not send:
            out.print(check.digest.body, markup=False, highlight=False)
    if not send:
        out.print("(no apprise targets configured: set OKTA_ALERTS_APPRISE_URLS to send these)")
    result.firing = sorted(set(result.firing))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_receiver(data_dir: Path, port: int, secret: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "OKTA_ALERTS_AUTH_SECRET"}
    env.update(OKTA_ALERTS_AUTH_SECRET=secret, OKTA_ALERTS_SEAL_SECONDS="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "okta_alerts",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OktaAlertsError(f"the receiver exited with {process.returncode}; see above")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    _stop(process)
    raise OktaAlertsError("the receiver did not start within 30 s")


def _wait_until_sealed(health_url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(health_url, timeout=2).json()["store_lag_seconds"] == 0:
            return
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
