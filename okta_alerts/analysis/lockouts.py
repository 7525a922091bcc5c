"""Lockout queries: a connection and a :class:`~okta_alerts.analysis.windows.Window` in, a
DataFrame or a small result object out.

Every query filters ``published`` first
and aggregates in SQL with bound parameters; only result rows reach pandas. The locked user is
the lockout's target user, else its actor (Okta's ``user.account.lock`` has the user as actor).
A "lockout" is one row of the ``lockouts`` view (``user.account.lock`` or ``.lock.limit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import duckdb
import pandas as pd

from okta_alerts.analysis.baseline import (
    EPOCH,
    Comparison,
    Figures,
    compare_to_baseline,
    counts_over_time,
    frame,
    one_row,
)
from okta_alerts.analysis.baseline import window_params as _params
from okta_alerts.analysis.prose import Prose, plural
from okta_alerts.analysis.windows import Window
from okta_alerts.okta.eventtypes import LOCKOUT_TYPES
from okta_alerts.sql import in_list

_LOCKED = """
  SELECT published, client_ip, as_number, as_org, geo_country, client_user_agent,
         coalesce(target_user_login, actor_alternate_id) AS user_login
  FROM lockouts WHERE published >= $start AND published < $end
"""


def lockouts_over_time(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Lockouts per bucket of the window (zero-filled, UTC) with the baseline band:
    ``bucket, count, baseline_mean, baseline_low, baseline_high``."""
    return counts_over_time(con, "lockouts", window)


def lockouts_by_hour(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """:func:`lockouts_over_time` in hourly buckets."""
    return counts_over_time(con, "lockouts", window.with_bucket("hour"))


def lockouts_by_day(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """:func:`lockouts_over_time` in daily (UTC) buckets."""
    return counts_over_time(con, "lockouts", window.with_bucket("day"))


def top_locked_users(
    con: duckdb.DuckDBPyConnection, window: Window, limit: int = 10
) -> pd.DataFrame:
    """The most locked-out users: ``user_login, lockouts, ips, first_lockout, last_lockout,
    last_ip, last_country``; most lockouts first, ties by login."""
    sql = f"""
    WITH l AS ({_LOCKED})
    SELECT user_login, count(*) AS lockouts, count(DISTINCT client_ip) AS ips,
           min(published) AS first_lockout, max(published) AS last_lockout,
           arg_max(client_ip, published) AS last_ip,
           arg_max(geo_country, published) AS last_country
    FROM l GROUP BY user_login
    ORDER BY lockouts DESC, user_login
    LIMIT $limit
    """
    return frame(con, sql, _params(window, limit=limit))


# Grouping columns of lockouts_by_source: SQL fragments from this table only, never from input.
# (group by, extra columns, tie-break order)
_SOURCES: dict[str, tuple[str, str, str]] = {
    "ip": (
        "client_ip AS ip",
        "arg_max(as_org, published) AS as_org, arg_max(geo_country, published) AS country,",
        "ip",
    ),
    "asn": ("as_number, as_org", "count(DISTINCT client_ip) AS ips,", "as_number, as_org"),
    "country": ("geo_country AS country", "count(DISTINCT client_ip) AS ips,", "country"),
}
Source = Literal["ip", "asn", "country"]


def lockouts_by_source(
    con: duckdb.DuckDBPyConnection, window: Window, by: Source = "ip", limit: int = 10
) -> pd.DataFrame:
    """Lockouts grouped by where they came from, ``by`` ``ip`` (with its AS org and country),
    ``asn`` (number and org) or ``country``; columns end with ``lockouts, users, percent``."""
    if by not in _SOURCES:
        raise ValueError(f"by must be one of {', '.join(_SOURCES)}, not {by!r}")
    keys, extra, order = _SOURCES[by]
    sql = f"""
    WITH l AS ({_LOCKED})
    SELECT {keys}, {extra} count(*) AS lockouts, count(DISTINCT user_login) AS users,
           round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
    FROM l GROUP BY ALL
    ORDER BY lockouts DESC, users DESC, {order} NULLS LAST
    LIMIT $limit
    """
    return frame(con, sql, _params(window, limit=limit))


# Per source IP, the span of ``$span`` after one of its lockouts with the most distinct users
# (ties: the earliest). Runs over a CTE ``l`` of lockouts (published, client_ip, user_login).
_SPRAY_SPANS = """
  SELECT a.client_ip AS ip, a.published AS burst_start, max(b.published) AS burst_end,
         count(DISTINCT b.user_login) AS users,
         list(DISTINCT b.user_login ORDER BY b.user_login) AS logins
  FROM l a JOIN l b
    ON a.client_ip = b.client_ip AND b.published >= a.published
   AND b.published <= a.published + $span
  GROUP BY a.client_ip, a.published
  QUALIFY row_number() OVER (PARTITION BY ip ORDER BY users DESC, burst_start) = 1
"""


def spray_candidates(
    con: duckdb.DuckDBPyConnection, window: Window, minutes: float = 10, min_users: int = 5
) -> pd.DataFrame:
    """Source IPs that locked out at least ``min_users`` distinct users within ``minutes``
    (inclusive) — the signature of a password spray.

    Columns: ``ip, users`` (most distinct users in one such span), ``burst_start, burst_end``
    (first and last lockout of that span), ``lockouts`` (all from the IP in the window),
    ``as_org, country, user_agent`` (of its latest lockout), ``sample_users`` (up to five)."""
    sql = f"""
    WITH l AS MATERIALIZED ({_LOCKED}),
    spans AS ({_SPRAY_SPANS}),
    per_ip AS (
      SELECT client_ip AS ip, count(*) AS lockouts,
             arg_max(as_org, published) AS as_org, arg_max(geo_country, published) AS country,
             arg_max(client_user_agent, published) AS user_agent
      FROM l GROUP BY client_ip
    )
    SELECT ip, users, burst_start, burst_end, lockouts, as_org, country, user_agent,
           array_to_string(logins[1:5], ', ') AS sample_users
    FROM spans JOIN per_ip USING (ip)
    WHERE users >= $min_users
    ORDER BY users DESC, lockouts DESC, ip
    """
    params = _params(window, span=timedelta(minutes=minutes), min_users=min_users)
    return frame(con, sql, params)


def repeat_lockouts(
    con: duckdb.DuckDBPyConnection, window: Window, min_lockouts: int = 2, limit: int = 20
) -> pd.DataFrame:
    """Users locked out in the window who have ``min_lockouts`` or more lockouts counting the
    baseline days too — chronic cases such as a device retrying an old password.

    Columns: ``user_login, lockouts, baseline_lockouts, days_with_lockouts, last_lockout``."""
    sql = """
    WITH l AS (
      SELECT coalesce(target_user_login, actor_alternate_id) AS user_login, published
      FROM lockouts WHERE published >= $baseline_start AND published < $end
    )
    SELECT user_login,
           count(*) FILTER (WHERE published >= $start) AS lockouts,
           count(*) FILTER (WHERE published < $start) AS baseline_lockouts,
           count(DISTINCT CAST(published AS DATE)) AS days_with_lockouts,
           max(published) AS last_lockout
    FROM l GROUP BY user_login
    HAVING lockouts >= 1 AND lockouts + baseline_lockouts >= $min_lockouts
    ORDER BY lockouts + baseline_lockouts DESC, lockouts DESC, user_login
    LIMIT $limit
    """
    return frame(con, sql, _params(window, min_lockouts=min_lockouts, limit=limit))


_EPISODES = """
WITH marks AS (
  SELECT coalesce(target_user_login, actor_alternate_id) AS user_login, published,
         NULL AS unlocked_by
  FROM lockouts WHERE published >= $start AND published < $end
  UNION ALL
  SELECT target_user_login, published,
         CASE WHEN event_type LIKE '%admin%' THEN 'admin' ELSE 'automatic' END
  FROM unlocks WHERE published >= $start AND published < $end AND target_user_login IS NOT NULL
), numbered AS (
  SELECT *, count(unlocked_by) OVER (
           PARTITION BY user_login ORDER BY published, unlocked_by NULLS FIRST
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS episode
  FROM marks
), episodes AS (
  SELECT user_login,
         min(published) FILTER (WHERE unlocked_by IS NULL) AS locked_at,
         count(*) FILTER (WHERE unlocked_by IS NULL) AS lockouts,
         min(published) FILTER (WHERE unlocked_by IS NOT NULL) AS unlocked_at,
         arg_min(unlocked_by, published) FILTER (WHERE unlocked_by IS NOT NULL) AS unlocked_by
  FROM numbered GROUP BY user_login, episode
  HAVING locked_at IS NOT NULL
)
SELECT *, round(epoch(coalesce(unlocked_at, $end) - locked_at) / 60, 1) AS minutes
FROM episodes
"""


def lockout_episodes(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Each time a user got locked out in the window, until the next unlock:
    ``user_login, locked_at, lockouts`` (lockout events in the episode), ``unlocked_at,
    unlocked_by`` (``automatic``/``admin``, NULL while still locked at the window's end),
    ``minutes`` (locked for; still-locked episodes count up to the window's end)."""
    sql = _EPISODES + " ORDER BY locked_at, user_login"
    return frame(con, sql, _params(window))


def unlock_delays(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """How long lockouts lasted, by how they ended (``automatic``, ``admin``, ``still locked``):
    ``unlocked_by, episodes, median_minutes, p90_minutes, max_minutes``."""
    sql = f"""
    WITH e AS ({_EPISODES}), ended AS (
      SELECT coalesce(unlocked_by, 'still locked') AS ended_by, minutes FROM e
    )
    SELECT ended_by AS unlocked_by, count(*) AS episodes,
           round(median(minutes), 1) AS median_minutes,
           round(quantile_cont(minutes, 0.9), 1) AS p90_minutes,
           max(minutes) AS max_minutes
    FROM ended GROUP BY ended_by
    ORDER BY CASE ended_by WHEN 'automatic' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END
    """
    return frame(con, sql, _params(window))


# Failed sign-ins and lockouts, with where they came from (the spray rules' rows).
_FAILED = f"""
  SELECT published, as_number, as_org, actor_alternate_id,
         event_type IN {in_list(LOCKOUT_TYPES)} AS locked
  FROM events
  WHERE published >= $start AND published < $end AND as_number IS NOT NULL
    AND ((event_type = 'user.session.start' AND outcome_result = 'FAILURE')
         OR event_type IN {in_list(LOCKOUT_TYPES)})
"""


def networks_over_time(
    con: duckdb.DuckDBPyConnection, window: Window, limit: int = 4
) -> pd.DataFrame:
    """The ``limit`` source networks with the most accounts failing to sign in or locked in the
    window, bucket by bucket (zero-filled): ``bucket, as_number, as_org, accounts`` (in the
    whole window), ``failed_sign_ins, lockouts``; networks in order, most accounts first."""
    step = int(window.step / timedelta(microseconds=1))
    sql = f"""
    WITH f AS MATERIALIZED ({_FAILED}),
    top AS (
      SELECT as_number, arg_max(as_org, published) AS as_org,
             count(DISTINCT actor_alternate_id) AS accounts
      FROM f GROUP BY as_number ORDER BY accounts DESC, as_number LIMIT $limit
    ),
    counts AS (
      SELECT as_number, epoch_us(published) // $step AS i,
             count(*) FILTER (WHERE NOT locked) AS failed, count(*) FILTER (WHERE locked) AS locks
      FROM f WHERE as_number IN (SELECT as_number FROM top) GROUP BY ALL
    )
    SELECT make_timestamptz(s.i * $step) AS bucket, t.as_number, t.as_org, t.accounts,
           coalesce(c.failed, 0) AS failed_sign_ins, coalesce(c.locks, 0) AS lockouts
    FROM top t CROSS JOIN range($first, $last) s(i)
    LEFT JOIN counts c ON c.as_number = t.as_number AND c.i = s.i
    ORDER BY t.accounts DESC, t.as_number, s.i
    """
    first = int((window.start - EPOCH) / timedelta(microseconds=1)) // step
    last = int((window.end - EPOCH) / timedelta(microseconds=1)) // step
    params = _params(window, limit=limit, step=step, first=first, last=last)
    return frame(con, sql, params)


@dataclass(frozen=True, slots=True)
class LockoutSummary(Prose):
    """The headline numbers of a lockout report and their comparison with the baseline."""

    window: Window
    lockouts: int
    users: int
    ips: int
    baseline: Comparison
    top_user: str | None
    top_user_lockouts: int
    top_ip: str | None
    top_ip_lockouts: int
    spray_ips: int

    def figures(self) -> Figures:
        """Plain values for ``reports.record_figures`` and alert messages."""
        return {
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "lockouts": self.lockouts,
            "users": self.users,
            "ips": self.ips,
            "baseline_mean": self.baseline.mean,
            "baseline_std": self.baseline.std,
            "ratio": self.baseline.ratio,
            "zscore": self.baseline.zscore,
            "top_user": self.top_user,
            "top_user_lockouts": self.top_user_lockouts,
            "top_ip": self.top_ip,
            "top_ip_lockouts": self.top_ip_lockouts,
            "spray_ips": self.spray_ips,
        }

    def describe(self) -> str:
        if not self.lockouts:
            lines = [f"No lockouts in this window ({self.window}).", "Nothing to report."]
        else:
            lines = [
                f"{plural(self.lockouts, 'lockout')} of {plural(self.users, 'user')} from "
                f"{plural(self.ips, 'IP')} "
                f"in {self.window}.",
                f"Most locked out: {self.top_user} ({self.top_user_lockouts}); "
                f"busiest source: {self.top_ip} ({self.top_ip_lockouts}).",
                f"Password-spray candidates: {plural(self.spray_ips, 'IP')}.",
            ]
        lines.append(self.baseline.describe("lockouts", self.window).capitalize() + ".")
        return "\n".join(lines)


def lockout_summary(
    con: duckdb.DuckDBPyConnection,
    window: Window,
    spray_minutes: float = 10,
    spray_min_users: int = 5,
) -> LockoutSummary:
    """Lockouts, users and IPs in the window, the top user and IP (ordered as in
    :func:`top_locked_users` and :func:`lockouts_by_source`), the number of
    :func:`spray_candidates`, and the comparison with the baseline."""
    sql = f"""
    WITH l AS MATERIALIZED ({_LOCKED}),
    spans AS ({_SPRAY_SPANS}),
    top_user AS (
      SELECT user_login, count(*) AS n FROM l GROUP BY user_login
      ORDER BY n DESC, user_login LIMIT 1
    ),
    top_ip AS (
      SELECT client_ip, count(*) AS n FROM l WHERE client_ip IS NOT NULL GROUP BY client_ip
      ORDER BY n DESC, count(DISTINCT user_login) DESC, client_ip LIMIT 1
    )
    SELECT (SELECT count(*) FROM l), (SELECT count(DISTINCT user_login) FROM l),
           (SELECT count(DISTINCT client_ip) FROM l),
           (SELECT user_login FROM top_user), (SELECT n FROM top_user),
           (SELECT client_ip FROM top_ip), (SELECT n FROM top_ip),
           (SELECT count(*) FROM spans WHERE users >= $min_users)
    """
    params = _params(window, span=timedelta(minutes=spray_minutes), min_users=spray_min_users)
    lockouts, users, ips, top_user, user_n, top_ip, ip_n, spray = one_row(con, sql, params)
    return LockoutSummary(
        window=window,
        lockouts=int(lockouts),
        users=int(users),
        ips=int(ips),
        baseline=compare_to_baseline(con, "lockouts", window),
        top_user=top_user,
        top_user_lockouts=int(user_n or 0),
        top_ip=top_ip,
        top_ip_lockouts=int(ip_n or 0),
        spray_ips=int(spray),
    )
