"""Byte-level stream formats the docker clients expect: stdcopy frames and hijacked connections."""

from __future__ import annotations

import asyncio
import struct

from aiohttp import web

STDIN, STDOUT, STDERR = 0, 1, 2

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def stdcopy_frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame: [stream, 0, 0, 0, size:uint32 big-endian] + payload (stdcopy)."""
    return struct.pack(">BxxxI", stream, len(data)) + data


class _RawInput:
    """Receives the client's bytes once a connection is upgraded (aiohttp's payload-parser slot).

    aiohttp hands the upgraded connection's data to whatever `set_parser` installed, the way its
    own WebSocket reader gets it; here it goes into a queue the handler reads as stdin.
    """

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)


class _RawResponse(web.StreamResponse):
    """A response whose body is the bare connection: no length and no chunked framing."""

    _length_check = False


class Hijacked:
    """An attach/exec connection after `101 Switching Protocols`: raw bytes both ways.

    The docker CLI half-closes its side (CloseWrite) when its stdin ends and keeps reading the
    output, so end-of-input must not close the connection: `eof_received` is answered with True
    (keep the transport open) and the EOF is passed on as the end of stdin.
    """

    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self._request = request
        self._response = response
        self._input = _RawInput()
        protocol = request.protocol
        protocol.set_parser(self._input)  # type: ignore[arg-type]
        protocol.keep_alive(False)

        def eof_received() -> bool:
            self._input.feed_eof()
            return True

        protocol.eof_received = eof_received  # type: ignore[method-assign]

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
