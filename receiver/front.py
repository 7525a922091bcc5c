"""A front process of the receiver: HTTP and parsing on another core, commits by the main process.

``okta-alerts serve`` starts ``workers`` of these (:mod:`receiver.fronts`) as
``python -m receiver.front LISTEN_FD... LINK_FD``: its listening sockets (opened by the main
process) and one end of a socketpair are inherited; the configuration (the secret too) arrives
as JSON on stdin, never in a command line or environment. A front answers /hooks/okta exactly
like the main process (the same :mod:`receiver.hooks`), builds an accepted delivery's journal
lines itself, and sends them over the link; the main process, the one writer, makes them
durable and answers; then the front answers Okta. /healthz and /metrics are the main
process's, forwarded.

When the link reaches EOF (the main process died, even by ``kill -9``) what waits gets ``503``
and the front exits within about a second. Imports stay light: no store, no DuckDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response

from okta_alerts.events import Batch
from okta_alerts.journal import RecordIds
from receiver import ipc
from receiver.auth import HookAuth
from receiver.hooks import PAGES, HookApp, Hooks, StoreUnavailableError, build_app, error

log = logging.getLogger("okta_alerts.receiver")

STOP_GRACE = 10  # seconds in-flight requests get to finish after SIGTERM
LOST_GRACE = 1.0  # seconds in-flight requests get to be answered once the main process is gone
MAIN_GONE = "the receiver's main process is gone"


@dataclass(frozen=True)
class FrontConfig:
    """What a front needs of the settings; sent on its stdin."""

    auth_header: str
    auth_secret: str | None = field(repr=False)
    custom_headers: dict[str, str] = field(repr=False)
    insecure_no_auth: bool
    max_body_bytes: int
    log_level: str

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes) -> FrontConfig:
        values: dict[str, Any] = orjson.loads(data)
        return cls(**values)


class RemoteCommitter:
    """A front's :class:`~receiver.hooks.Committer`: the main process's committer, over the link.

    Record ids carry a boot prefix of this process (``<ns>p<pid>``), unlike the writer's own, so
    they are unique in the store, and end in the batch's line count as crash recovery needs.
    """

    def __init__(self) -> None:
        self._record_ids = RecordIds(f"{time.time_ns():x}p{os.getpid()}")
        self._requests = itertools.count(1)
        self._pending: dict[int, asyncio.Future[tuple[int, bytes]]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._lost = False

    async def connect(self, link: socket.socket, on_lost: Callable[[], None]) -> None:
        """Use ``link``; ``on_lost`` is called once if the main process goes away."""
        reader, self._writer = await asyncio.open_unix_connection(sock=link)
        self._reading = asyncio.get_running_loop().create_task(self._read(reader, on_lost))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading

    async def submit(self, batch: Batch, started: float) -> None:
        record = self._record_ids.next(batch.size)
        lines, keys = batch.record(record), batch.keys(record)
        parts = ipc.commit_parts(lines, keys, batch.size, time.perf_counter() - started)
        kind, body = await self._ask(ipc.COMMIT, *parts)
        if kind != ipc.OK:
            raise StoreUnavailableError(body.decode())

    def rejected(self, outcome: str) -> None:
        if self._writer is not None:
            ipc.send(self._writer, ipc.REJECTED, 0, outcome.encode())

    async def page(self, path: str) -> Response:
        """The main process's answer to GET ``path``, as it gave it."""
        try:
            kind, body = await self._ask(ipc.PAGE, path.encode())
            if kind != ipc.RESPONSE:
                raise StoreUnavailableError(body.decode())
        except StoreUnavailableError as exc:
            return error(503, "store_unavailable", str(exc))
        status, content_type, content = ipc.parse_response(body)
        return Response(content, status_code=status, headers={"content-type": content_type})

    async def _ask(self, kind: int, *parts: bytes) -> tuple[int, bytes]:
        if self._lost or self._writer is None:
            raise StoreUnavailableError(MAIN_GONE)
        request = next(self._requests)
        future = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        try:
            ipc.send(self._writer, kind, request, *parts)
            await self._writer.drain()
            return await future
        except ConnectionError:
            raise StoreUnavailableError(MAIN_GONE) from None
        finally:
            del self._pending[request]

    async def _read(self, reader: asyncio.StreamReader, on_lost: Callable[[], None]) -> None:
        try:
            while True:
                kind, request, body = await ipc.read_frame(reader)
                future = self._pending.get(request)
                if future is not None and not future.done():
                    future.set_result((kind, body))
        except (asyncio.IncompleteReadError, ConnectionError):
            on_lost()
        finally:
            self._lost = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(StoreUnavailableError(MAIN_GONE))


def create_front_app(
    config: FrontConfig, link: socket.socket, on_lost: Callable[[], None]
) -> HookApp:
    """The front's app: the shared routes over a :class:`RemoteCommitter` on ``link``."""
    auth = HookAuth(
        config.auth_header, config.auth_secret, config.custom_headers, config.insecure_no_auth
    )
    remote = RemoteCommitter()
    pages = {path: functools.partial(remote.page, path) for path in PAGES}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await remote.connect(link, on_lost)
        yield
        await remote.close()

    return build_app(Hooks(config.max_body_bytes, auth, remote), pages, lifespan)


def run_front(config: FrontConfig, listens: list[socket.socket], link: socket.socket) -> None:
    """Serve on the inherited ``listens`` until SIGTERM or until the main process is gone."""

    def stop_soon() -> None:
        """Stop accepting and answer what waits for a commit (503); exit within LOST_GRACE.

        A request still uploading its body then has its connection closed, as it would have had
        the dead main process accepted it: a front holds nothing durable, so a hard exit loses
        nothing and cannot hang.
        """
        log.error("%s: front process %d stops", MAIN_GONE, os.getpid())
        server.should_exit = True
        asyncio.get_running_loop().call_later(LOST_GRACE, os._exit, 0)

    app = create_front_app(config, link, stop_soon)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=config.log_level,
            access_log=config.log_level == "debug",
            server_header=False,
            timeout_graceful_shutdown=STOP_GRACE,
        )
    )

    def stop(*_: object) -> None:
        server.should_exit = True

    # Before uvicorn takes over the signals, and when it re-raises them after a graceful stop,
    # a signal only asks for a stop: the front exits 0 (a requested stop, not a crash).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    server.run(sockets=listens)


def main() -> None:
    try:
        *listen_fds, link_fd = (int(arg) for arg in sys.argv[1:])
        if not listen_fds:
            raise ValueError("no listening socket")
        config = FrontConfig.from_json(sys.stdin.buffer.read())
    except (ValueError, TypeError, orjson.JSONDecodeError):
        sys.exit("receiver.front is started by `okta-alerts serve` (see --workers), not by hand")
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [front %(process)d]: %(message)s",
    )
    listens = [socket.socket(fileno=fd) for fd in listen_fds]
    run_front(config, listens, socket.socket(fileno=link_fd))


if __name__ == "__main__":
    main()
