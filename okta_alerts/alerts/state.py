"""Alert and schedule state in ``data/state.duckdb``: alerts, notifications, silences, runs.

Only the alerts and schedule commands write it, one process at a time: every access holds the OS
lock ``data/state.lock`` (``flock``) and opens the DuckDB file only for the few statements it
needs, so no process keeps the file open while it queries events, sends to chat or runs a
notebook. :func:`open_state` waits briefly for the lock and then says who holds it. A file made
by an earlier version gains the newer columns when it is opened (:data:`MIGRATIONS`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from okta_alerts.alerts.evaluate import Evaluation, KnownAlert, Memory, Silence
from okta_alerts.alerts.statesql import HELD, MIGRATIONS, OPEN, SCHEMA, SEEN
from okta_alerts.config import Settings
from okta_alerts.errors import StateError, StateLockedError
from okta_alerts.files import HolderLock

LOCK_NAME = "state.lock"
LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Notification:
    """A message to deliver; ``targets`` and ``delivered`` are apprise url ids."""

    id: int
    created_at: datetime
    kind: str  # digest | failure
    title: str
    body: str
    body_format: str  # text | markdown | html
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
    peak: int | None = None
    total: int | None = None


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
                self._con.execute(MIGRATIONS)
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
                "SELECT rule_id, key, status = 'open', opened_at, last_alerted_at,"
                " coalesce(peak, value, count, 0), held_by FROM alerts"
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
                    OPEN,
                    {
                        "rule": alert.rule.id,
                        "key": alert.key,
                        "title": alert.rule.title,
                        "severity": alert.level,
                        "labels": orjson.dumps(alert.labels).decode(),
                        "count": alert.count,
                        "normal": alert.normal,
                        "now": now,
                        "value": alert.value,
                        "peak": alert.peak,
                        "total": alert.total,
                    },
                )
            for alert in evaluation.suppressed:
                seen = {"now": now, "rule": alert.rule.id, "key": alert.key}
                seen |= {"count": alert.count, "value": alert.value}
                if alert.held_by is None:
                    con.execute(SEEN, seen)
                    continue
                about = {"title": alert.rule.title, "severity": alert.level}
                con.execute(HELD, seen | about | {"held_by": alert.held_by})
            for alert in evaluation.resolved:
                con.execute(
                    "UPDATE alerts SET status = 'resolved', resolved_at = $now,"
                    " total = coalesce($total, total) WHERE rule_id = $rule AND key = $key",
                    {"now": now, "rule": alert.rule.id, "key": alert.key, "total": alert.total},
                )
            for values in notifications:
                _insert_notification(con, now, **values)

    def open_alerts(self) -> list[OpenAlert]:
        with self._db() as con:
            rows = con.execute(
                "SELECT rule_id, key, title, severity, count, opened_at, last_seen_at,"
                " last_alerted_at, peak, total FROM alerts WHERE status = 'open'"
                " ORDER BY opened_at, rule_id"
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
                "SELECT id, created_at, kind, title, coalesce(body, markdown, text),"
                " coalesce(body_format, 'markdown'), notify_type, targets, delivered, status,"
                " attempts, last_error, attachment_name, attachment"
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

    def start_run(
        self, job: str, notebook: str | None, slot: datetime | None, now: datetime
    ) -> int:
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

    def latest_reports(self) -> dict[str, str]:
        """Per notebook, the HTML report of its latest successful scheduled run."""
        with self._db() as con:
            rows = con.execute(
                "SELECT notebook, arg_max(output, finished_at) FROM schedule_runs"
                " WHERE status = 'ok' AND output LIKE '%.html' GROUP BY notebook"
            ).fetchall()
        return {notebook: output for notebook, output in rows}

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
    body: str,
    body_format: str,
    notify_type: str,
    targets: Sequence[str],
    attachment: tuple[str, bytes] | None = None,
) -> None:
    name, data = attachment if attachment else (None, None)
    con.execute(
        "INSERT INTO notifications (created_at, kind, title, body, body_format, notify_type,"
        " targets, delivered, status, attempts, attachment_name, attachment)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, '[]', 'pending', 0, ?, ?)",
        [
            now,
            kind,
            title,
            body,
            body_format,
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
    path = settings.data_dir / LOCK_NAME
    lock = HolderLock(path)
    holder = lock.acquire(" ".join(sys.argv[:3])[:80], timeout)
    if holder is not None:
        raise StateLockedError(
            f"{path} is held by {holder} for more than {timeout:g} s; wait for that "
            "alerts/schedule command to finish, or stop it"
        )
    state = State(settings.state_path)
    try:
        yield state
    finally:
        state.release()
        lock.release()
