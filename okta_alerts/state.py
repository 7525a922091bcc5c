"""Alert and schedule state in ``data/state.duckdb``: alerts, notifications, silences, runs.

Only the alerts and schedule commands write it, one process at a time: every access holds the OS
lock ``data/state.lock`` (``flock``) and opens the DuckDB file only for the few statements it
needs, so no process keeps the file open while it queries events, sends to chat or runs a
notebook. :func:`open_state` waits briefly for the lock and then says who holds it.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import duckdb
import orjson

from okta_alerts.config import Settings
from okta_alerts.errors import StateError, StateLockedError
from okta_alerts.rules import Evaluation, KnownAlert, Memory, Silence

LOCK_NAME = "state.lock"
LOCK_TIMEOUT = 30.0
SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS ids;
CREATE TABLE IF NOT EXISTS alerts (
  rule_id VARCHAR, key VARCHAR, title VARCHAR, severity VARCHAR, status VARCHAR,
  labels JSON, count BIGINT, normal DOUBLE, opened_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ,
  last_alerted_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, PRIMARY KEY (rule_id, key));
CREATE TABLE IF NOT EXISTS notifications (
  id BIGINT PRIMARY KEY DEFAULT nextval('ids'), created_at TIMESTAMPTZ, kind VARCHAR,
  title VARCHAR, markdown VARCHAR, text VARCHAR, notify_type VARCHAR, targets JSON,
  delivered JSON, status VARCHAR, attempts INTEGER, last_error VARCHAR, sent_at TIMESTAMPTZ,
  attachment_name VARCHAR, attachment BLOB);
CREATE TABLE IF NOT EXISTS silences (
  id BIGINT PRIMARY KEY DEFAULT nextval('ids'), rule_id VARCHAR, key VARCHAR,
  created_at TIMESTAMPTZ, until TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS schedule_runs (
  id BIGINT PRIMARY KEY DEFAULT nextval('ids'), job VARCHAR, notebook VARCHAR,
  slot TIMESTAMPTZ, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
  output VARCHAR, error VARCHAR);
"""

# A firing alert is (re)opened and stamped as alerted now; an open one keeps its opened_at.
_OPEN = """
INSERT INTO alerts VALUES ($rule, $key, $title, $severity, 'open', $labels, $count, $normal,
  $now, $now, $now, NULL)
ON CONFLICT DO UPDATE SET title = $title, severity = $severity, labels = $labels,
  count = $count, normal = $normal, last_seen_at = $now, last_alerted_at = $now,
  opened_at = CASE WHEN status = 'open' THEN opened_at ELSE $now END,
  status = 'open', resolved_at = NULL
"""


@dataclass(frozen=True)
class Notification:
    """A message to deliver; ``targets`` and ``delivered`` are apprise url ids."""

    id: int
    created_at: datetime
    kind: str  # digest | failure
    title: str
    markdown: str
    text: str
    notify_type: str
    targets: tuple[str, ...]
    delivered: tuple[str, ...]
    status: str  # pending | sent | failed (no longer deliverable)
    attempts: int
    last_error: str | None
    attachment: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class OpenAlert:
    rule_id: str
    key: str
    title: str
    severity: str
    count: int
    opened_at: datetime
    last_seen_at: datetime
    last_alerted_at: datetime | None


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    slot: datetime | None
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | ok | failed | interrupted
    output: str | None
    error: str | None


class State:
    """Reads and writes of the state database; only valid inside :func:`open_state`.

    Each method is one transaction. The DuckDB file stays open between them until
    :meth:`release` (called before network I/O) or the end of the ``open_state`` block.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def _db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._con is None:
            try:
                self._con = duckdb.connect(str(self.path))
                self._con.execute("SET TimeZone = 'UTC'")
                self._con.execute(SCHEMA)
            except duckdb.Error as exc:
                self.release()
                raise StateError(f"cannot open {self.path}: {exc}") from None
        con = self._con
        con.execute("BEGIN")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def release(self) -> None:
        """Close the DuckDB file (it is reopened by the next call)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- alerts ------------------------------------------------------------------------------

    def memory(self) -> Memory:
        """What evaluation needs: every known alert and the silences still in force."""
        with self._db() as con:
            alerts = con.execute(
                "SELECT rule_id, key, status = 'open', opened_at, last_alerted_at FROM alerts"
            ).fetchall()
            silences = con.execute("SELECT rule_id, key, until FROM silences").fetchall()
        known = {(r[0], r[1]): KnownAlert(*r) for r in alerts}
        return Memory(known, tuple(Silence(*s) for s in silences))

    def record(self, evaluation: Evaluation, notifications: Sequence[dict[str, Any]] = ()) -> None:
        """Apply an evaluation and queue its notifications in one transaction."""
        now = evaluation.now
        with self._db() as con:
            for alert in evaluation.firing:
                con.execute(
                    _OPEN,
                    {
                        "rule": alert.rule.id,
                        "key": alert.key,
                        "title": alert.rule.title,
                        "severity": alert.rule.severity,
                        "labels": orjson.dumps(alert.labels).decode(),
                        "count": alert.count,
                        "normal": alert.normal,
                        "now": now,
                    },
                )
            for alert in evaluation.suppressed:
                con.execute(
                    "UPDATE alerts SET last_seen_at = $now, count = $count"
                    " WHERE rule_id = $rule AND key = $key AND status = 'open'",
                    {"now": now, "count": alert.count, "rule": alert.rule.id, "key": alert.key},
                )
            for alert in evaluation.resolved:
                con.execute(
                    "UPDATE alerts SET status = 'resolved', resolved_at = $now"
                    " WHERE rule_id = $rule AND key = $key",
                    {"now": now, "rule": alert.rule.id, "key": alert.key},
                )
            for values in notifications:
                _insert_notification(con, now, **values)

    def open_alerts(self) -> list[OpenAlert]:
        with self._db() as con:
            rows = con.execute(
                "SELECT rule_id, key, title, severity, count, opened_at, last_seen_at,"
                " last_alerted_at FROM alerts WHERE status = 'open' ORDER BY opened_at, rule_id"
            ).fetchall()
        return [OpenAlert(*row) for row in rows]

    def silence(self, rule_id: str, key: str | None, now: datetime, until: datetime) -> None:
        with self._db() as con:
            con.execute("DELETE FROM silences WHERE until <= $now", {"now": now})
            con.execute(
                "INSERT INTO silences (rule_id, key, created_at, until) VALUES (?, ?, ?, ?)",
                [rule_id, key, now, until],
            )

    def silences(self, now: datetime) -> list[Silence]:
        with self._db() as con:
            rows = con.execute(
                "SELECT rule_id, key, until FROM silences WHERE until > ? ORDER BY until", [now]
            ).fetchall()
        return [Silence(*row) for row in rows]

    # -- notifications -----------------------------------------------------------------------

    def queue(self, now: datetime, **values: Any) -> None:
        """Queue one notification (see :func:`_insert_notification` for the fields)."""
        with self._db() as con:
            _insert_notification(con, now, **values)

    def undelivered(self) -> list[Notification]:
        with self._db() as con:
            rows = con.execute(
                "SELECT id, created_at, kind, title, markdown, text, notify_type, targets,"
                " delivered, status, attempts, last_error, attachment_name, attachment"
                " FROM notifications WHERE status = 'pending' ORDER BY id"
            ).fetchall()
        notes = []
        for row in rows:
            fields: list[Any] = [*row[:7], tuple(orjson.loads(row[7])), tuple(orjson.loads(row[8]))]
            fields += [*row[9:12], (row[12], bytes(row[13])) if row[12] else None]
            notes.append(Notification(*fields))
        return notes

    def attempted(
        self,
        notification: Notification,
        now: datetime,
        delivered: Sequence[str],
        error: str | None,
        gone: bool = False,
    ) -> None:
        """Record one delivery attempt: sent when every target has it, failed when ``gone``."""
        done = sorted(set(notification.delivered) | set(delivered))
        status = "sent" if error is None else ("failed" if gone else "pending")
        with self._db() as con:
            con.execute(
                "UPDATE notifications SET delivered = ?, status = ?, attempts = attempts + 1,"
                " last_error = ?, sent_at = CASE WHEN ? = 'sent' THEN ? END WHERE id = ?",
                [orjson.dumps(done).decode(), status, error, status, now, notification.id],
            )

    def counts(self) -> dict[str, int]:
        with self._db() as con:
            rows = con.execute("SELECT status, count(*) FROM notifications GROUP BY 1").fetchall()
        return {status: int(n) for status, n in rows}

    # -- schedule runs -----------------------------------------------------------------------

    def start_run(self, job: str, notebook: str, slot: datetime | None, now: datetime) -> int:
        with self._db() as con:
            row = con.execute(
                "INSERT INTO schedule_runs (job, notebook, slot, started_at, status)"
                " VALUES (?, ?, ?, ?, 'running') RETURNING id",
                [job, notebook, slot, now],
            ).fetchone()
        assert row is not None
        return int(row[0])

    def finish_run(
        self, run_id: int, now: datetime, status: str, output: str | None, error: str | None
    ) -> None:
        with self._db() as con:
            con.execute(
                "UPDATE schedule_runs SET finished_at = ?, status = ?, output = ?, error = ?"
                " WHERE id = ?",
                [now, status, output, error, run_id],
            )

    def interrupt_runs(self, now: datetime) -> int:
        """Mark runs left ``running`` by a process that died as ``interrupted``."""
        with self._db() as con:
            rows = con.execute(
                "UPDATE schedule_runs SET status = 'interrupted', finished_at = ?"
                " WHERE status = 'running' RETURNING id",
                [now],
            ).fetchall()
        return len(rows)

    def last_slots(self) -> dict[str, datetime]:
        """The latest scheduled slot each job has run for (whatever its outcome)."""
        with self._db() as con:
            rows = con.execute(
                "SELECT job, max(slot) FROM schedule_runs WHERE slot IS NOT NULL GROUP BY job"
            ).fetchall()
        return {job: slot for job, slot in rows}

    def runs(self, job: str | None = None, limit: int = 50) -> list[Run]:
        with self._db() as con:
            rows = con.execute(
                "SELECT id, job, slot, started_at, finished_at, status, output, error"
                " FROM schedule_runs WHERE $job IS NULL OR job = $job ORDER BY id DESC LIMIT $n",
                {"job": job, "n": limit},
            ).fetchall()
        return [Run(*row) for row in rows]


def _insert_notification(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    *,
    kind: str,
    title: str,
    markdown: str,
    text: str,
    notify_type: str,
    targets: Sequence[str],
    attachment: tuple[str, bytes] | None = None,
) -> None:
    name, data = attachment if attachment else (None, None)
    con.execute(
        "INSERT INTO notifications (created_at, kind, title, markdown, text, notify_type,"
        " targets, delivered, status, attempts, attachment_name, attachment)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, '[]', 'pending', 0, ?, ?)",
        [
            now,
            kind,
            title,
            markdown,
            text,
            notify_type,
            orjson.dumps(list(targets)).decode(),
            name,
            data,
        ],
    )


@contextmanager
def open_state(settings: Settings, timeout: float = LOCK_TIMEOUT) -> Iterator[State]:
    """Hold ``data/state.lock`` (waiting up to ``timeout`` seconds) and give access to state."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _locked(settings.data_dir / LOCK_NAME, timeout):
        state = State(settings.state_path)
        try:
            yield state
        finally:
            state.release()


@contextmanager
def _locked(path: Path, timeout: float) -> Iterator[IO[str]]:
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise StateLockedError(
                        f"{path} is held by {holder} for more than {timeout:g} s; wait for that "
                        "alerts/schedule command to finish, or stop it"
                    ) from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({' '.join(sys.argv[:3])[:80]})")
        handle.flush()
        yield handle
    finally:
        handle.close()
