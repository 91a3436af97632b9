"""A running container's streams: output pumped to its log and to attached clients, stdin fed
from them.

Attach subscribers outlive a single run: the docker CLI attaches to a created container and only
then starts it, so a subscriber registered before start receives that run's output.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from ..runtime import FifoReader, open_output, open_stdin
from ..runtime.types import TaskIO
from .logdrivers import BaseDriver

STREAM_IDS = {"stdout": 1, "stderr": 2}
READ_CHUNK = 64 * 1024

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
                self.log.write(name, chunk)
                for sub in tuple(self._subscribers):
                    if sub.stdout if stream_id == 1 else sub.stderr:
                        sub.queue.put_nowait((stream_id, chunk))
        finally:
            self.log.end_stream(name)

    async def drain(self, timeout: float) -> None:
        """Wait for the output to reach EOF after the process ended, then close everything."""
        if self._pumps:
            _, pending = await asyncio.wait(self._pumps, timeout=timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
