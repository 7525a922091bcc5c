"""A reader process for the concurrency test: holds one connection and queries in a loop.

Usage: python -m tests.support.reader_loop DATA_DIR EXPECTED SECONDS OUT_JSON
Writes {"samples": [[time, count], ...], "errors": [...]} when it has seen EXPECTED events or
SECONDS have passed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

import okta_alerts


def main(data_dir: str, expected: int, seconds: float, out: str) -> None:
    con = okta_alerts.connect(data_dir)
    samples: list[tuple[float, int]] = []
    errors: list[str] = []
    deadline = time.time() + seconds
    while time.time() < deadline and len(errors) < 20:
        try:
            (total,) = con.execute("SELECT count(*) FROM events").fetchone()  # type: ignore[misc]
            con.execute("SELECT event_type, count(*) FROM lockouts GROUP BY 1").fetchall()
            dupes = con.execute("SELECT count(*) - count(DISTINCT uuid) FROM events").fetchone()
            if dupes != (0,):
                errors.append(f"duplicates visible: {dupes}")
            samples.append((time.time(), total))
            if total >= expected:
                break
        except Exception as exc:  # the test asserts there were none
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.02)
    Path(out).write_bytes(orjson.dumps({"samples": samples, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
