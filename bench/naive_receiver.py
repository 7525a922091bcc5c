"""The naive baseline: what a first attempt at an Okta event-hook receiver looks like.

One Starlette route checks the header, parses the JSON and INSERTs each event with its own
statement (autocommit) into one DuckDB file over one connection, then answers 200.

Run: ``BENCH_AUTH_SECRET=... python -m bench.naive_receiver --db PATH --port N``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import duckdb
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCHEMA = """CREATE TABLE IF NOT EXISTS events (
    uuid VARCHAR, published TIMESTAMPTZ, event_type VARCHAR, actor VARCHAR, outcome VARCHAR,
    raw JSON
)"""
INSERT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)"


def create_app(db_path: Path, auth_header: str, secret: str) -> Starlette:
    con = duckdb.connect(str(db_path))
    con.execute(SCHEMA)

    async def hook(request: Request) -> Response:
        if request.headers.get(auth_header) != secret:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        events = (await request.json())["data"]["events"]
        for event in events:
            con.execute(
                INSERT,
                [
                    event["uuid"],
                    event["published"],
                    event["eventType"],
                    (event.get("actor") or {}).get("alternateId"),
                    (event.get("outcome") or {}).get("result"),
                    json.dumps(event),
                ],
            )
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        con.close()

    routes = [Route("/hooks/okta", hook, methods=["POST"]), Route("/healthz", healthz)]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth-header", default="Authorization")
    args = parser.parse_args()
    app = create_app(args.db, args.auth_header, os.environ["BENCH_AUTH_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
