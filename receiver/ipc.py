"""The link between a front process and the main process: framed messages on a socketpair.

One connection per front carries many requests at once: every frame names its request, and the
answers come back in whatever order they finish. A frame is a header (kind, request id, body
length) and a body:

- ``COMMIT`` front → main: one delivery's journal lines and uuid-index lines, its event count
  and the seconds since its request started. Answered by ``OK`` once the lines are durable, or
  ``UNAVAILABLE`` with the reason.
- ``REJECTED`` front → main, request 0, never answered: one delivery refused before the store,
  the body is its outcome, so the main process's counters stay the only ones.
- ``PAGE`` front → main: a GET of ``/healthz`` or ``/metrics``. Answered by ``RESPONSE``: the
  status, content type and body the main process rendered.
"""

from __future__ import annotations

import asyncio
import struct

COMMIT, REJECTED, PAGE, OK, UNAVAILABLE, RESPONSE = range(1, 7)

_HEADER = struct.Struct("!BQI")  # kind, request id, body length
_COMMIT = struct.Struct("!IdI")  # events, seconds since the request started, journal lines length
_RESPONSE = struct.Struct("!HH")  # status, content type length


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """(kind, request id, body) of the next frame; asyncio.IncompleteReadError at EOF."""
    kind, request, size = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return kind, request, await reader.readexactly(size) if size else b""


def send(writer: asyncio.StreamWriter, kind: int, request: int, *parts: bytes) -> None:
    """Queue one frame in a single write, so frames of concurrent requests never interleave.

    A frame for a link that is already closing is dropped: its peer is gone.
    """
    if not writer.is_closing():
        writer.writelines([_HEADER.pack(kind, request, sum(map(len, parts))), *parts])


def commit_parts(lines: bytes, keys: bytes, events: int, elapsed: float) -> tuple[bytes, ...]:
    return _COMMIT.pack(events, elapsed, len(lines)), lines, keys


def parse_commit(body: bytes) -> tuple[memoryview, memoryview, int, float]:
    """(journal lines, key lines, events, seconds since the request started) of a COMMIT; the
    lines are views of ``body``, not copies."""
    events, elapsed, size = _COMMIT.unpack_from(body)
    start = _COMMIT.size
    view = memoryview(body)
    return view[start : start + size], view[start + size :], events, elapsed


def response_parts(status: int, content_type: str, body: bytes) -> tuple[bytes, ...]:
    kind = content_type.encode()
    return _RESPONSE.pack(status, len(kind)), kind, body


def parse_response(body: bytes) -> tuple[int, str, bytes]:
    """(status, content type, body) of a RESPONSE."""
    status, size = _RESPONSE.unpack_from(body)
    start = _RESPONSE.size
    return status, body[start : start + size].decode(), body[start + size :]
