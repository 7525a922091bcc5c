"""The main process's side of the front processes: start, serve their links, restart, stop.

One Python process tops out near one core, mostly in HTTP handling and parsing. So ``serve``
starts ``workers`` front processes (:mod:`receiver.front`) on the same port, each on its own
listening socket opened here (:func:`listen_sockets`); each sends accepted deliveries' journal
lines over its link to this process, where the one :class:`~receiver.committer.GroupCommitter`
makes them durable. The store keeps one writer.

Lifecycle: a front that dies unexpectedly is restarted after a second, unless it exited
``MAX_RESTARTS`` times within a minute: a crash loop leaves it down. On shutdown the fronts get
SIGTERM as soon as the main server stops accepting, and the committer keeps committing until
they have finished their requests and exited; only then is it stopped and the journal sealed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping

import uvicorn

from receiver import ipc
from receiver.committer import GroupCommitter
from receiver.front import FrontConfig
from receiver.hooks import Page, StoreUnavailableError

log = logging.getLogger("okta_alerts.receiver")

BACKLOG = 2048
RESTART_DELAY = 1.0
MAX_RESTARTS = 5  # within RESTART_WINDOW; beyond that a front is left down
RESTART_WINDOW = 60.0
STOP_GRACE = 15.0  # a front finishes in-flight requests within 10 s of SIGTERM; then SIGKILL
POLL = 0.2  # how often a front's process is checked

Link = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def listen_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host``:``port``, one per process of the receiver.

    With more than one, each is bound with SO_REUSEPORT, so the kernel spreads new connections
    evenly over the processes (a shared socket goes to whichever process wakes first: one can
    get every connection). A plain bind comes first, so that a port another process listens on
    still fails with "address in use" instead of being shared with it.
    """
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    first = socket.create_server(address, family=family, backlog=BACKLOG)
    if count == 1:
        return [first]
    with first:
        address = first.getsockname()  # the port the kernel chose if ``port`` is 0
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(
                socket.create_server(address, family=family, backlog=BACKLOG, reuse_port=True)
            )
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class FrontLink:
    """This process's end of the fronts' links: commits and pages, answered as each finishes."""

    def __init__(self, committer: GroupCommitter, pages: Mapping[str, Page]) -> None:
        self.committer = committer
        self.pages = pages

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one front until its link closes; its commits in flight still complete."""
        answering: set[asyncio.Task[None]] = set()
        try:
            while True:
                kind, request, body = await ipc.read_frame(reader)
                if kind == ipc.REJECTED:
                    self.committer.rejected(body.decode())
                    continue
                task = asyncio.create_task(self._answer(writer, kind, request, body))
                answering.add(task)
                task.add_done_callback(answering.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            if answering:
                await asyncio.wait(answering)

    async def _answer(
        self, writer: asyncio.StreamWriter, kind: int, request: int, body: bytes
    ) -> None:
        """Answer one request; whatever happens, the front gets an answer and never hangs."""
        try:
            if kind == ipc.PAGE:
                parts = await self._page(body.decode())
                ipc.send(writer, ipc.RESPONSE, request, *parts)
                return
            lines, keys, events, elapsed = ipc.parse_commit(body)
            await self.committer.commit(lines, keys, events, time.perf_counter() - elapsed)
        except StoreUnavailableError as exc:
            ipc.send(writer, ipc.UNAVAILABLE, request, str(exc).encode())
        except Exception:
            log.exception("a front process's request failed")
            ipc.send(writer, ipc.UNAVAILABLE, request, b"the receiver failed unexpectedly")
        else:
            ipc.send(writer, ipc.OK, request)

    async def _page(self, path: str) -> tuple[bytes, ...]:
        response = await self.pages[path]()
        content_type = response.headers.get("content-type", "")
        return ipc.response_parts(response.status_code, content_type, bytes(response.body))


class Fronts:
    """One front process per group of sockets in ``listens``, kept running until :meth:`stop`.

    This process keeps every socket open, so connections the kernel queues on a front's sockets
    while that front restarts wait for its successor instead of being refused.
    """

    def __init__(self, listens: list[list[socket.socket]], config: FrontConfig) -> None:
        self.listens = listens
        self.config = config
        self.processes: dict[int, subprocess.Popen[bytes]] = {}  # by slot
        self._keepers: list[asyncio.Task[None]] = []
        self._links: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self, link: Link) -> None:
        """Start every front; ``link`` serves each one's end of its socketpair."""
        loop = asyncio.get_running_loop()
        self._keepers = [
            loop.create_task(self._keep(slot, link)) for slot in range(len(self.listens))
        ]

    def terminate(self) -> None:
        """SIGTERM every front (they stop accepting and finish what they hold); no restarts.

        The fronts' sockets are closed here too: new connections are refused, as they are by
        the main process's own closed socket, rather than left waiting in a queue.
        """
        self._stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for group in self.listens:
            for listen in group:
                listen.close()

    async def stop(self) -> None:
        """Terminate the fronts and wait for them, serving their links meanwhile."""
        self.terminate()
        if self._keepers:
            await asyncio.wait(self._keepers, timeout=STOP_GRACE)
        self.kill()
        if self._links:
            await asyncio.wait(self._links, timeout=STOP_GRACE)

    def kill(self) -> None:
        """SIGKILL and reap any front still running: no orphan outlives this process."""
        self._stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                log.warning("front process %d did not stop in time: killed", process.pid)
                process.kill()
                process.wait()

    async def _keep(self, slot: int, link: Link) -> None:
        """Run the front of ``slot``; restart it after an unexpected exit, unless it crash-loops."""
        exits: collections.deque[float] = collections.deque(maxlen=MAX_RESTARTS)
        while not self._stopping:
            process = self._spawn(slot, link)
            while process is not None and process.poll() is None:
                await asyncio.sleep(POLL)
            if self._stopping:
                return
            exits.append(time.monotonic())
            if len(exits) == MAX_RESTARTS and exits[-1] - exits[0] < RESTART_WINDOW:
                log.error(
                    "a front process failed %d times within %.0f s: not restarted again; "
                    "its share of new connections goes to the other processes",
                    MAX_RESTARTS, RESTART_WINDOW,
                )  # fmt: skip
                for listen in self.listens[slot]:
                    listen.close()
                return
            if process is not None:
                log.warning(
                    "front process %d exited unexpectedly with code %s; restarting it in %.0f s",
                    process.pid, process.returncode, RESTART_DELAY,
                )  # fmt: skip
            await asyncio.sleep(RESTART_DELAY)

    def _spawn(self, slot: int, link: Link) -> subprocess.Popen[bytes] | None:
        """Start the front of ``slot`` and serve its link; None if it could not be started."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = (*(listen.fileno() for listen in self.listens[slot]), theirs.fileno())
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "receiver.front", *map(str, fds)],
                stdin=subprocess.PIPE,
                bufsize=0,
                pass_fds=fds,
                env=_front_environment(),
                start_new_session=True,  # a terminal's Ctrl-C reaches the main process only
            )
        except OSError as exc:
            log.error("could not start a front process: %s", exc.strerror or exc)
            ours.close()
            return None
        finally:
            theirs.close()
        self.processes[slot] = process
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at once: _keep sees the exit
            process.stdin.write(self.config.to_json())  # unbuffered, far below a pipe's size
        process.stdin.close()
        task = asyncio.get_running_loop().create_task(self._serve(ours, link))
        self._links.add(task)
        task.add_done_callback(self._links.discard)
        return process

    async def _serve(self, ours: socket.socket, link: Link) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        await link(reader, writer)


def _front_environment() -> dict[str, str]:
    """This environment without ``OKTA_ALERTS_*``: a front gets its settings on stdin only."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}


class ReceiverServer(uvicorn.Server):
    """uvicorn's server that tells the fronts to stop as soon as it stops accepting itself."""

    def __init__(self, config: uvicorn.Config, fronts: Fronts | None) -> None:
        super().__init__(config)
        self.fronts = fronts

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.fronts is not None:
            self.fronts.terminate()
        await super().shutdown(sockets)
