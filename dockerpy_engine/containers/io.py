"""A running container's streams: output pumped to its log and to attached clients, stdin fed
from them.

Attach subscribers outlive a single run: the docker CLI attaches to a created container and only
then starts it, so a subscriber registered before start receives that run's output.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from ..runtime import FifoReader, open_output, open_stdin
from ..runtime.types import TaskIO
from .logdrivers import BaseDriver

STREAM_IDS = {"stdout": 1, "stderr": 2}
READ_CHUNK = 4 * 1024  # one step of a pump: small, so that a loop turn stays short
DRAIN_LIMIT = 30.0  # seconds a drain waits in all, however busy the pumps

# An attach subscriber receives (stream id, bytes) chunks and None when the run's output ends.
Chunk = tuple[int, bytes] | None


@dataclass(slots=True, eq=False)  # identity semantics: subscribers live in sets
class Subscriber:
    queue: asyncio.Queue[Chunk] = field(default_factory=asyncio.Queue)
    stdout: bool = True
    stderr: bool = True


class RunIO:
    """The FIFOs of one run of a container and the tasks copying out of them."""

    def __init__(self, paths: TaskIO, log: BaseDriver, subscribers: set[Subscriber]) -> None:
        self.paths = paths
        self.log = log
        self._subscribers = subscribers
        self._readers: list[FifoReader] = []
        self._pumps: list[asyncio.Task[None]] = []
        self.stdin = open_stdin(paths.stdin) if paths.stdin else None
        self.stdin_ready = asyncio.Event()
        self.finished = asyncio.Event()  # all output copied and the log closed
        self._last_output = time.monotonic()  # when a pump last copied a chunk

    async def open(self, reattach: bool = False) -> None:
        """Open the readers before Tasks.Create (the shim blocks until they exist); on live
        restore the shim holds its ends already, so no keeper write end is needed."""
        for name in ("stdout", "stderr"):
            path = getattr(self.paths, name)
            if path:
                reader = await open_output(path, keep_open=not reattach)
                self._readers.append(reader)
                self._pumps.append(asyncio.create_task(self._pump(name, reader)))

    def created(self) -> None:
        """The task holds its ends of the FIFOs now: readers may see EOF from here on."""
        for reader in self._readers:
            reader.release()
        self.stdin_ready.set()

    async def _pump(self, name: str, reader: FifoReader) -> None:
        stream_id = STREAM_IDS[name]
        try:
            while chunk := await reader.read(READ_CHUNK):
                self._last_output = time.monotonic()
                self.log.write(name, chunk)
                for sub in tuple(self._subscribers):
                    if sub.stdout if stream_id == 1 else sub.stderr:
                        sub.queue.put_nowait((stream_id, chunk))
                # A read of data already buffered returns without suspending: a container
                # writing flat out would keep the loop (every other pump, every request) for
                # its whole buffer. One small chunk, then everyone else's turn.
                await asyncio.sleep(0)
        finally:
            self.log.end_stream(name)

    async def drain(self, idle: float, limit: float = DRAIN_LIMIT) -> None:
        """Wait for the output to reach EOF after the process ended, then close everything.

        A pump still copying is waited for: what the pipe and the reader hold is the
        container's output, and on a busy daemon it can take more than dockerd's 2 s to
        write. One that has copied nothing for `idle` seconds is given up (a process the
        container left behind holds the pipe open), and all are after `limit` seconds."""
        deadline = time.monotonic() + limit
        pending = set(self._pumps)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=idle)
            now = time.monotonic()
            if pending and (now - self._last_output >= idle or now >= deadline):
                for task in pending:
                    task.cancel()
                for task in pending:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                break
        self.close()

    async def let_go(self, timeout: float) -> None:
        """Daemon shutdown with the task left running (live restore): copy what the readers
        already hold into the log, then close. What is still in the pipes stays there for
        the next daemon, which reopens them; only the readers' buffers would be lost."""
        for reader in self._readers:
            reader.close()  # no more reads from the pipe; a read returns the buffer, then EOF
        if self._pumps:
            await asyncio.wait(self._pumps, timeout=timeout)
        self.close()

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        for task in self._pumps:
            task.cancel()
        if self.stdin is not None:
            self.stdin.close()
        if not self.finished.is_set():
            self.log.close()
            for sub in tuple(self._subscribers):
                sub.queue.put_nowait(None)
            self.finished.set()
