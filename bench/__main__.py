"""``python -m bench``: run the benchmarks, write ``bench/results/``, print a summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from bench.ingest import IngestConfig, config_dict, run_ingest
from bench.processes import BenchError
from bench.readers import run_readers
from bench.report import ingest_summary, ingest_targets, readers_summary
from bench.results import ROOT, document, write_result
from bench.soak import SoakConfig, run_soak, soak_summary
from bench.soak import config_dict as soak_config
from okta_alerts.errors import OktaAlertsError

DEFAULT_SCALES = [1_000_000]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        choices=["ingest", "readers", "windows", "load", "backfill", "analysis", "alerts", "soak"],
        help="Run one benchmark.",
    )
    parser.add_argument(
        "--backfill-pages", type=int, default=1000, help="Backfill pages of 1,000 events."
    )
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration per run.")
    parser.add_argument("--repeats", type=int, default=3, help="Ingest runs per target.")
    parser.add_argument(
        "--seal-seconds", type=float, default=1.0, help="The receiver's OKTA_ALERTS_SEAL_SECONDS."
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument(
        "--scale",
        type=int,
        nargs="+",
        default=DEFAULT_SCALES,
        help="Reader store sizes in events (default: 1000000; 10000000 takes ~20 min to build).",
    )
    parser.add_argument(
        "--load-events", type=int, default=1_000_000, help="Events in the load benchmark's NDJSON."
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="Timed runs per reader/analysis query and alert check."
    )
    parser.add_argument(
        "--soak-seconds",
        type=int,
        default=300,
        help="How long the soak runs the receiver under load beside hostile clients.",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    failed = []
    if args.only in (None, "ingest"):
        try:
            run_ingest_benchmark(args)
        except BenchError as exc:
            failed.append(f"ingest: {exc}")
    if args.only in (None, "readers"):
        try:
            body = run_readers(args.scale, args.runs)
            _publish(document("readers", {"scales": args.scale, "runs": args.runs}, body))
            print(readers_summary(body), flush=True)
        except BenchError as exc:
            failed.append(f"readers: {exc}")
    if args.only in (None, "windows"):
        from bench.windows import run_windows, windows_summary

        _run_one("windows", lambda: run_windows(max(args.runs, 7)), windows_summary,
                 {"runs": max(args.runs, 7)}, failed)  # fmt: skip
    if args.only in (None, "load"):
        from bench.load import load_summary, run_load

        _run_one("load", lambda: run_load(args.load_events, args.repeats), load_summary,
                 {"events": args.load_events, "repeats": args.repeats}, failed)  # fmt: skip
    if args.only in (None, "analysis"):
        from bench.analysis import analysis_summary, run_analysis

        _run_store_benchmark("analysis", run_analysis, analysis_summary, args, failed)
    if args.only in (None, "alerts"):
        from bench.alerts import alerts_summary, run_alerts

        _run_store_benchmark("alerts", run_alerts, alerts_summary, args, failed)
    if args.only in (None, "soak"):
        try:
            run_soak_benchmark(args)
        except BenchError as exc:
            failed.append(f"soak: {exc}")
    if args.only in (None, "backfill"):
        from bench.backfill import main as run_backfill_benchmark

        if run_backfill_benchmark(["--pages", str(args.backfill_pages)]) != 0:
            failed.append("backfill")
    for message in failed:
        print(f"bench failed: {message}", file=sys.stderr)
    return 1 if failed else 0


def run_ingest_benchmark(args: argparse.Namespace) -> None:
    config = IngestConfig(
        seconds=args.seconds,
        connections=args.connections,
        threads=args.threads,
        repeats=args.repeats,
        seal_seconds=args.seal_seconds,
    )
    body = run_ingest(config)
    body["targets"] = ingest_targets(body)
    _publish(document("ingest", config_dict(config), body))
    print(ingest_summary(body, asdict(config)), flush=True)


def run_soak_benchmark(args: argparse.Namespace) -> None:
    config = SoakConfig(
        seconds=args.soak_seconds,
        slice_seconds=min(30, max(5, args.soak_seconds // 4)),
        seal_seconds=args.seal_seconds,
    )
    body = run_soak(config)
    _publish(document("soak", soak_config(config), body))
    print(soak_summary(body), flush=True)


def _run_store_benchmark(
    name: str,
    run: Callable[[list[int], int], dict[str, Any]],
    summary: Callable[[dict[str, Any]], str],
    args: argparse.Namespace,
    failed: list[str],
) -> None:
    try:
        body = run(args.scale, args.runs)
    except (BenchError, OktaAlertsError) as exc:
        failed.append(f"{name}: {exc}")
        return
    _publish(document(name, {"scales": args.scale, "runs": args.runs}, body))
    print(summary(body), flush=True)


def _run_one(
    name: str,
    run: Callable[[], dict[str, Any]],
    summary: Callable[[dict[str, Any]], str],
    config: dict[str, Any],
    failed: list[str],
) -> None:
    try:
        body = run()
    except (BenchError, OktaAlertsError) as exc:
        failed.append(f"{name}: {exc}")
        return
    _publish(document(name, config, body))
    print(summary(body), flush=True)


def _publish(doc: dict[str, object]) -> None:
    stamped, latest = write_result(doc)
    print(f"wrote {stamped.relative_to(ROOT)} and {latest.relative_to(ROOT)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
