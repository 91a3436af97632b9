"""Byte-level stream formats the docker clients expect: stdcopy frames and hijacked connections."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from ..distribution.progress import Progress, format_error
from ..errdefs import EngineError
from ..version import api_less_than

STDIN, STDOUT, STDERR = 0, 1, 2

log = logging.getLogger(__name__)

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def stream_type(tty: bool, version: str) -> str:
    """The Content-Type of logs, attach and exec output: stdcopy frames (no TTY) are labelled
    as such from API 1.42 on; older versions call every stream raw, as dockerd does."""
    if tty or api_less_than(version, "1.42"):
        return RAW_STREAM
    return MULTIPLEXED_STREAM


def stdcopy_frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame: [stream, 0, 0, 0, size:uint32 big-endian] + payload (stdcopy)."""
    return struct.pack(">BxxxI", stream, len(data)) + data


class _RawInput:
    """The client's bytes after the upgrade, queued for the handler that reads them as stdin."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._ended = False

    def feed(self, data: bytes) -> None:
        if not self._ended:
            self.queue.put_nowait(bytes(data))

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self.queue.put_nowait(None)


class _HijackProtocol(asyncio.Protocol):
    """Takes the connection over from aiohttp once the 101 is out.

    aiohttp would parse further bytes as HTTP (its C parser upgrades only WebSocket) and would
    close the connection on the client's half-close. The docker CLI half-closes (CloseWrite)
    when its stdin ends and keeps reading output, so EOF must end stdin and nothing else:
    `eof_received` returns True. Flow control and connection loss still reach aiohttp's
    protocol, whose writer the response keeps using.
    """

    def __init__(self, inner: asyncio.Protocol, sink: _RawInput) -> None:
        self._inner = inner
        self._sink = sink

    def data_received(self, data: bytes) -> None:
        self._sink.feed(data)

    def eof_received(self) -> bool:
        self._sink.end()
        return True

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._sink.end()
        self._inner.connection_lost(exc)


class _RawResponse(web.StreamResponse):
    """A response whose body is the bare connection: no length and no chunked framing."""

    _length_check = False


class Hijacked:
    """An attach/exec connection after `101 Switching Protocols`: raw bytes both ways."""

    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self._request = request
        self._response = response
        self._input = _RawInput()
        protocol = request.protocol
        protocol.keep_alive(False)
        transport = request.transport
        if transport is not None:
            transport.set_protocol(_HijackProtocol(protocol, self._input))

    @classmethod
    async def upgrade(cls, request: web.Request, content_type: str) -> Hijacked:
        """Answer 101 (or 200 for clients that did not ask to upgrade) and take the connection."""
        upgrading = request.headers.get("Upgrade", "").lower() == "tcp"
        response = _RawResponse(status=101 if upgrading else 200)
        response.content_type = content_type
        if upgrading:
            response.headers["Connection"] = "Upgrade"
            response.headers["Upgrade"] = "tcp"
        await response.prepare(request)
        return cls(request, response)

    @property
    def response(self) -> web.StreamResponse:
        return self._response

    async def read(self) -> bytes | None:
        """The client's next bytes, or None at its end of input."""
        return await self._input.queue.get()

    async def write(self, data: bytes) -> None:
        await self._response.write(data)

    def close(self) -> None:
        transport = self._request.transport
        if transport is not None and not transport.is_closing():
            transport.close()


async def send_stream(
    request: web.Request, response: web.StreamResponse, chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    """Headers are settled: stream the body (a tar, for cp/export/save). A failure after the
    first byte can only close the connection (the client sees a truncated tar), as dockerd."""
    await response.prepare(request)
    try:
        async for chunk in chunks:
            await response.write(chunk)
    except Exception as exc:
        log.warning("%s %s: stream failed: %s", request.method, request.path, exc)
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


class _LazyStream:
    """A JSON progress response whose headers go out with the first line."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self.response: web.StreamResponse | None = None

    async def write(self, data: bytes) -> None:
        if self.response is None:
            response = web.StreamResponse(status=200)
            response.content_type = "application/json"
            await response.prepare(self._request)
            self.response = response
        await self.response.write(data)

    async def finish(self) -> web.StreamResponse:
        if self.response is None:
            await self.write(b"")
        assert self.response is not None
        await self.response.write_eof()
        return self.response


async def progress_stream(
    request: web.Request, work: Callable[[Progress], Awaitable[object]]
) -> web.StreamResponse:
    """dockerd's progress stream (pull, push, build). The response is prepared with its
    first line, as dockerd's WriteFlusher: an error before that is an ordinary JSON error
    with its status; after it, the error goes in-band (with the exit code a failed RUN
    carries, which the docker CLI makes its own) and the stream ends."""
    stream = _LazyStream(request)
    progress = Progress(stream.write)
    try:
        await work(progress)
    except EngineError as exc:
        if not progress.started:
            raise
        log.info("%s %s failed in-band: %s", request.method, request.path, exc.message)
        await stream.write(format_error(exc.message, getattr(exc, "exit_code", None)))
    except (ConnectionError, web.HTTPException):
        raise
    except Exception as exc:  # a bug after the stream started: say it in-band, keep serving
        if not progress.started:
            raise
        log.exception("%s %s failed", request.method, request.path)
        await stream.write(format_error(str(exc) or repr(exc)))
    return await stream.finish()
