"""Process stdio over FIFOs, the way containerd's shim wants it, without blocking the loop.

containerd hands a process's stdin/stdout/stderr to the shim as FIFO paths. Three facts shape
this module (see the containerd notes, traps 1-3):

* the shim opens each output FIFO O_WRONLY *without* O_NONBLOCK during Tasks.Create (for an
  exec: during Start), so a reader must already be open or Create hangs;
* a reader opened O_RDONLY|O_NONBLOCK on a FIFO that has no writer reads EOF at once, and a
  reader waiting for a writer that never comes (failed create) would wait forever;
* stdin must be opened before Create too, and O_WRONLY fails with ENXIO until the shim opens its
  read end.

The output scheme, `FifoReader`: open the read end O_RDONLY|O_NONBLOCK, then at once a
"keeper" write end O_WRONLY|O_NONBLOCK (allowed, since a reader now exists). While the keeper is
open the reader sees no EOF, however late the shim's writer arrives. The caller calls
`release()` when the shim holds its own write end (after Tasks.Create for the init process,
after Start for an exec), or on any error path. From then on EOF arrives as soon as the shim
closes its end, or at once if the shim never opened it, so a failed create cannot leave a
reader hanging. Readers use asyncio read-pipe transports (loop.connect_read_pipe works on
FIFOs) and are cancellable; `close()` makes a pending read return EOF.

Re-attaching to a live task after a daemon restart: `open_output(path, keep_open=False)`; the
shim's write end is still there, and if it is not, EOF is the right answer.

stdin, `FifoWriter`: opened O_RDWR|O_NONBLOCK (never ENXIO, never blocks), written with
non-blocking writes that wait for writability when the pipe is full. EOF for the process needs
two things: `close()` here AND ContainerdRuntime.close_stdin() (CloseIO), because the shim keeps
a write end of the stdin FIFO open itself (containerd pkg/process openStdin) and drops it only
on CloseIO. Because we hold a read end ourselves, a write into a pipe nobody drains waits rather
than failing with EPIPE: cancel writers when the process exits.

All descriptors are close-on-exec (Python's default), so children such as a managed containerd
never inherit a keeper and never delay EOF.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .types import TaskIO

# The StreamReader's high-water mark: above it the pipe back-pressures, so a container writing
# faster than its log is written waits, as with dockerd's copier, instead of the daemon
# holding megabytes of its output
READ_LIMIT = 64 * 1024
CHUNK = 64 * 1024


def create_fifos(directory: Path, stdin: bool, terminal: bool, name: str = "init") -> TaskIO:
    """Make `<name>-stdin|stdout|stderr` FIFOs (0600) in `directory` and return their paths.

    stdin only when asked; no stderr under a terminal (the pty merges it into stdout, and a
    stderr FIFO would never see a writer). Stale FIFOs of the same name are replaced.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def fifo(stream: str) -> str:
        path = directory / f"{name}-{stream}"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.mkfifo(path, 0o600)
        return str(path)

    return TaskIO(
        stdin=fifo("stdin") if stdin else "",
        stdout=fifo("stdout"),
        stderr="" if terminal else fifo("stderr"),
        terminal=terminal,
    )


def free_stale_fifos(root: Path) -> None:
    """At start, before any task is looked at: let go of a shim a killed daemon left stuck.

    The shim opens an output FIFO O_WRONLY without O_NONBLOCK (trap 1). A daemon killed after
    it made a process's FIFOs and before the shim's open returned leaves nobody to read them:
    the shim blocks for good with its task service locked, and every State or Delete of that
    task times out. Opening each FIFO under `root/<container>/` O_RDWR|O_NONBLOCK (which never
    blocks) lets such an open return; then it is closed, reading nothing, so a live task's
    output waits for the reattach as before. An exec's FIFOs are unlinked too: no exec outlives
    the daemon that started it, only the init process's are opened again.
    """
    for path in root.glob("*/*"):
        try:
            if not stat.S_ISFIFO(path.lstat().st_mode):
                continue
            os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))
            if not path.name.startswith("init-"):
                path.unlink()
        except OSError:
            continue


def remove_fifos(io: TaskIO) -> None:
    """Unlink the FIFOs of `io` (missing ones are fine)."""
    for path in (io.stdin, io.stdout, io.stderr):
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class FifoReader:
    """Async reader of an output FIFO (a thin asyncio.StreamReader wrapper with a keeper fd)."""

    def __init__(
        self,
        path: str,
        reader: asyncio.StreamReader,
        transport: asyncio.ReadTransport,
        keeper: int | None,
    ) -> None:
        self.path = path
        self._reader = reader
        self._transport = transport
        self._keeper = keeper

    async def read(self, n: int = CHUNK) -> bytes:
        """Up to `n` bytes; b"" at EOF (all writers gone after release, or closed)."""
        return await self._reader.read(n)

    async def readline(self) -> bytes:
        return await self._reader.readline()

    async def readexactly(self, n: int) -> bytes:
        return await self._reader.readexactly(n)

    def at_eof(self) -> bool:
        return self._reader.at_eof()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self._reader.read(CHUNK):
            yield chunk

    def release(self) -> None:
        """Drop the keeper write end: from now on EOF comes when the shim closes its end."""
        if self._keeper is not None:
            os.close(self._keeper)
            self._keeper = None

    def close(self) -> None:
        """Close both ends; a pending read returns what is buffered, then EOF."""
        self.release()
        self._transport.close()


async def open_output(path: str, keep_open: bool = True) -> FifoReader:
    """Open an output FIFO for reading without blocking; see the module docstring.

    `keep_open` holds a keeper write end until `release()` (use it before Create/Start);
    re-attaching to a running task passes False.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    keeper = None
    try:
        if keep_open:
            keeper = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        pipe = os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        if keeper is not None:
            os.close(keeper)
        raise
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
    except BaseException:
        pipe.close()
        if keeper is not None:
            os.close(keeper)
        raise
    return FifoReader(path, reader, transport, keeper)


class FifoWriter:
    """Async writer of a stdin FIFO, held O_RDWR|O_NONBLOCK from before Create."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def closed(self) -> bool:
        return self._fd is None

    async def write(self, data: bytes) -> None:
        """Write all of `data`, waiting (cancellably) while the pipe is full."""
        view = memoryview(data)
        while view:
            if self._fd is None:
                raise BrokenPipeError(f"stdin FIFO {self.path} is closed")
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                await self._writable()

    async def _writable(self) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        fd = self._fd
        assert fd is not None
        loop.add_writer(fd, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            loop.remove_writer(fd)

    def close(self) -> None:
        """Close our end; with close_stdin() (CloseIO) the process then reads EOF."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def open_stdin(path: str) -> FifoWriter:
    """Open a stdin FIFO for writing before Tasks.Create (O_RDWR, so no ENXIO, no blocking)."""
    return FifoWriter(path, os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC))


@dataclass(slots=True)
class ProcessStreams:
    """The open ends of one process's FIFOs (None where the stream was not asked for)."""

    stdin: FifoWriter | None = None
    stdout: FifoReader | None = None
    stderr: FifoReader | None = None

    @classmethod
    async def open(cls, io: TaskIO) -> ProcessStreams:
        """Open every FIFO in `io`, readers with keepers; call before Create / Exec."""
        streams = cls()
        try:
            if io.stdout:
                streams.stdout = await open_output(io.stdout)
            if io.stderr:
                streams.stderr = await open_output(io.stderr)
            if io.stdin:
                streams.stdin = open_stdin(io.stdin)
        except BaseException:
            streams.close()
            raise
        return streams

    def release(self) -> None:
        """The shim holds its ends now (or never will): let EOF through on the readers."""
        for r in (self.stdout, self.stderr):
            if r is not None:
                r.release()

    def close(self) -> None:
        """Close everything (error paths, or when the caller is done)."""
        for s in (self.stdin, self.stdout, self.stderr):
            if s is not None:
                s.close()
