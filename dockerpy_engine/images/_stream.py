"""Feeding a request body (an async iterator) to a worker thread as a file.

Extraction and hashing run in threads; the body arrives on the event loop. The bridge hands
the thread one chunk at a time, on demand, so a multi-GB import is never held in memory and
the loop never blocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errdefs import InvalidParameter
from .layers import BUFSIZE


class AsyncReader(io.RawIOBase):
    """A file-like view of an async iterator, read from a worker thread.

    Each read asks the event loop for the next chunk (run_coroutine_threadsafe), so the
    body flows at the pace the extractor consumes it and is never held whole in memory.
    """

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks.__aiter__()
        self._loop = loop
        self._buffer = memoryview(b"")
        self._eof = False
        self._pending: concurrent.futures.Future[bytes] | None = None
        self.aborted = False

    def abort(self) -> None:
        """Make the worker's current and next reads fail (the caller was cancelled)."""
        self.aborted = True
        if self._pending is not None:
            self._pending.cancel()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.aborted:
            raise InvalidParameter("the request was cancelled")
        if not self._buffer and not self._eof:
            self._pending = asyncio.run_coroutine_threadsafe(self._next(), self._loop)
            if self.aborted:  # abort() ran before _pending was this future: it missed it
                self._pending.cancel()
            try:
                chunk = self._pending.result()
            except concurrent.futures.CancelledError:
                raise InvalidParameter("the request was cancelled") from None
            self._eof = not chunk
            self._buffer = memoryview(chunk)
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    async def _next(self) -> bytes:
        while True:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                return b""
            if chunk:
                return bytes(chunk)


async def with_stream(
    chunks: AsyncIterator[bytes], work: Callable[[io.BufferedReader], Any]
) -> Any:
    """Run `work(reader)` in a thread, the reader fed by `chunks` from this loop.

    On cancellation the reader is aborted and the thread awaited, so no worker keeps
    writing into a directory its caller is about to delete.
    """
    reader = AsyncReader(chunks, asyncio.get_running_loop())
    buffered = io.BufferedReader(reader, BUFSIZE)
    task = asyncio.ensure_future(asyncio.to_thread(work, buffered))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        reader.abort()
        with contextlib.suppress(BaseException):
            await task
        raise
