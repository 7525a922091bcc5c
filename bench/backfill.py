"""System Log backfill throughput: ``python -m bench.backfill [--pages 1000]``.

A fake System Log API runs in its own process on loopback with no artificial delay: every page
is 1,000 simulated LogEvents (one template serialized once; each page gets its own uuids by a
byte substitution, so serving costs almost nothing) and a ``Link: rel="next"`` header until the
last page. ``okta_alerts.backfill.run_backfill`` fetches them all through the real client into a
fresh store (the writer path: journal + fsync per page, cursor saved per page, seal and compact
at the end), and the events are counted through ``okta_alerts.connect``.

Reported: events/s end to end (until readers see every event) and the split of the wall time:
fetching + parsing pages (inside the client, on its prefetch thread, overlapping the store),
the time the backfill waited for a page, and storing (appending, fsyncs, cursor files, the
final seal and compaction). Target: >= 20,000 events/s, so that against the real API
(1,000 events a page, tens of requests a minute) the store is never what a user waits for.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

PAGE_EVENTS = 1000
TARGET_EVENTS_PER_S = 20_000
TOKEN = "00bench-token-not-a-secret"
_PAGE_MARK = b"@@PAGE@@"


def page_template(seed: int, end: datetime) -> bytes:
    """A JSON array of PAGE_EVENTS simulated events whose uuids hold an 8-byte page slot."""
    from okta_alerts.sim.simulate import SCENARIOS, generate_events

    events = generate_events(
        seed, end - timedelta(days=1), end, SCENARIOS, rate_per_hour=4000, users=2000
    )
    page = []
    for index, event in enumerate(events):
        if index == PAGE_EVENTS:
            break
        page.append(dict(event, uuid=f"{_PAGE_MARK.decode()}-4000-8000-{index:012x}"))
    if len(page) < PAGE_EVENTS:
        raise SystemExit("the simulator produced too few events for a page")
    return orjson.dumps(page)


def serve(port: int, pages: int, template: Path) -> None:
    """The fake API (run in a child process): page N of ``pages``, then no next link."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = template.read_bytes()

    async def logs(request: Request) -> Response:
        if request.headers.get("authorization") != f"SSWS {TOKEN}":
            return Response(b'{"errorCode": "E0000011"}', status_code=401)
        number = int(request.query_params.get("after", "0"))
        page = body.replace(_PAGE_MARK, b"%08x" % number)
        response = Response(page, media_type="application/json")
        if number + 1 < pages:
            query = request.url.include_query_params(after=str(number + 1))
            response.headers["link"] = f'<{query}>; rel="next"'
        return response

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    app = Starlette(routes=[Route("/api/v1/logs", logs), Route("/healthz", healthz)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def run(pages: int, seed: int) -> dict[str, Any]:
    import okta_alerts
    from bench.processes import clean_env, free_port, running
    from bench.results import ROOT
    from okta_alerts.config import load_settings
    from okta_alerts.store import sink
    from okta_alerts.systemlog.backfill import run_backfill
    from okta_alerts.systemlog.client import Page, SystemLogClient

    class TimedClient(SystemLogClient):
        fetch_seconds = 0.0  # in fetch (on the prefetch thread): request, transfer, parse
        wait_seconds = 0.0  # the backfill waiting for the next page

        def fetch(self, url: str) -> Page:
            started = time.perf_counter()
            try:
                return super().fetch(url)
            finally:
                self.fetch_seconds += time.perf_counter() - started

        def pages(self, *args: Any, **kwargs: Any) -> Iterator[Page]:
            found = super().pages(*args, **kwargs)
            while True:
                started = time.perf_counter()
                page = next(found, None)
                self.wait_seconds += time.perf_counter() - started
                if page is None:
                    return
                yield page

    close_seconds = [0.0]
    original_close = sink.StoreSink.close

    def timed_close(self: sink.StoreSink) -> None:
        started = time.perf_counter()
        original_close(self)
        close_seconds[0] += time.perf_counter() - started

    work = Path(tempfile.mkdtemp(prefix="okta-alerts-bench-backfill-"))
    try:
        now = datetime.now(UTC)
        template = work / "page.json"
        template.write_bytes(page_template(seed, now))
        port = free_port()
        command = [sys.executable, "-m", "bench.backfill", "--serve", str(port)]
        command += ["--pages", str(pages), "--template", str(template)]
        url = f"http://127.0.0.1:{port}"
        with running(command, clean_env({}), work / "fake.log", url + "/healthz", ROOT):
            settings = load_settings(
                environ={},
                overrides={
                    "data_dir": work / "data",
                    "okta_org_url": url,
                    "okta_api_token": TOKEN,
                    "poll_lag_seconds": 0,
                },
            )
            sink.StoreSink.close = timed_close  # type: ignore[method-assign]
            try:
                with TimedClient(url, TOKEN) as client:
                    started = time.perf_counter()
                    result = run_backfill(settings, now - timedelta(days=2), now, client=client)
                    total = time.perf_counter() - started
                    fetch, wait = client.fetch_seconds, client.wait_seconds
            finally:
                sink.StoreSink.close = original_close  # type: ignore[method-assign]
        con = okta_alerts.connect(work / "data")
        stored = con.execute("SELECT count(*) FROM events").fetchone()
        con.close()
        events = pages * PAGE_EVENTS
        if not result.done or stored is None or stored[0] != events:
            raise SystemExit(f"backfill stored {stored} of {events} events ({result.summary()})")
        on_disk = sum(f.stat().st_size for f in (work / "data" / "events").rglob("*.parquet"))
        return {
            "events": events,
            "pages": pages,
            "seconds": round(total, 2),
            "events_per_s": round(events / total),
            "fetch_and_parse_seconds": round(fetch, 2),
            "waiting_for_pages_seconds": round(wait, 2),
            "store_seconds": round(total - wait, 2),
            "of_which_final_seal_and_compact_seconds": round(close_seconds[0], 2),
            "page_bytes": template.stat().st_size,
            "parquet_bytes_per_event": round(on_disk / events, 1),
            "target_events_per_s": TARGET_EVENTS_PER_S,
            "meets_target": events / total >= TARGET_EVENTS_PER_S,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__)
    parser.add_argument("--pages", type=int, default=1000, help="pages of 1,000 events")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--template", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.pages, args.template)
        return 0
    from bench.results import ROOT, document, write_result

    body = run(args.pages, args.seed)
    stamped, latest = write_result(
        document("backfill", {"pages": args.pages, "seed": args.seed}, body)
    )
    print(
        f"backfill: {body['events']} events in {body['seconds']} s = {body['events_per_s']} "
        f"events/s (target {TARGET_EVENTS_PER_S}); fetch+parse {body['fetch_and_parse_seconds']} s"
        f" (overlapped; waited {body['waiting_for_pages_seconds']} s), "
        f"store {body['store_seconds']} s (final seal+compact "
        f"{body['of_which_final_seal_and_compact_seconds']} s)"
    )
    print(f"wrote {stamped.relative_to(ROOT)} and {latest.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
