"""Log files for the drivers that keep output on disk (json-file, local, the dual-logging cache):
dockerd's rotation scheme, and reading back without losing or repeating an entry.

Rotation is dockerd's: before a write, a file at or past max-size is renamed to `<log>.1` (the
older ones shift up, the one past max-file is deleted, and with max-file 1 the file is unlinked,
never truncated under its readers) and a new file is started. With compression, each rotated
file is gzipped in a worker thread (dockerd's gzip header, `{"lastTime":…}` in its extra field)
and swapped in as `<log>.N.gz` wherever rotation has moved it meanwhile: dockerd makes the next
rotation wait for the compression, but the event loop never waits, so here the job instead
remembers which rotation made its file and finds its index from the rotations since.

Reading never races rotation: every rename, unlink and open happens on the event loop, so a
reader opens a consistent set of files (oldest first) in one go and holds them by descriptor. A
follower is handed a descriptor of each new file at the moment of rotation, so following goes on
across any number of rotations, even when the rotated file is deleted or compressed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import orjson

from ..types import LogsOptions
from ._base import BaseDriver, LogEntry, Message, entry_wanted, format_time_nano, parse_time_ns

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
_OPEN_WRITE = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_OPEN_READ = os.O_RDONLY | os.O_CLOEXEC


@dataclass(eq=False)
class _Job:
    """The compression of the file that rotation number `rotation` made `<log>.1`."""

    rotation: int
    max_files: int
    cancelled: bool = False  # rotated past max-file before it was done


@dataclass(eq=False)
class _Rotations:
    """A log path's rotation count, kept while compressions of it are pending (shared by the
    writers of successive runs of the container)."""

    count: int = 0
    jobs: set[_Job] = field(default_factory=set)


_PENDING: dict[str, _Rotations] = {}
_TASKS: set[asyncio.Task[None]] = set()


def compressions_pending() -> bool:
    """Whether any rotated file is still being compressed (tests wait on it)."""
    return bool(_PENDING)


class Codec(Protocol):
    """How a driver's entries look on disk."""

    def decode(self, data: bytes) -> tuple[list[LogEntry], int]:
        """The complete entries at the start of `data`, and how many bytes they took."""
        ...


# ------------------------------------------------------------------------------------ writing


class LogFile:
    """One container run's writer of a rotating log file; followers wait on `changed()`."""

    def __init__(
        self,
        path: Path,
        max_size: int = -1,
        max_files: int = 1,
        compress: bool = False,
        perms: int = 0o640,
    ) -> None:
        self.path = path
        self.max_size = max_size  # -1: never rotate
        self.max_files = max(max_files, 1)
        self.compress = compress and self.max_files >= 2
        self._perms = perms
        self._fd = os.open(path, _OPEN_WRITE, perms)
        self.size = os.fstat(self._fd).st_size
        self.closed = False
        self._last_ns = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._followers: set[Follower] = set()
        self._tidy()

    def append(self, entries: list[bytes], time_ns: int) -> None:
        """Write whole entries, rotating before any entry that finds the file full (dockerd's
        order), with one write per run of entries between rotations."""
        if self.closed or not entries:
            return
        batch: list[bytes] = []
        for entry in entries:
            if self.max_size >= 0 and self.size >= self.max_size:
                self._write(batch, time_ns)
                batch = []
                self._rotate()
            batch.append(entry)
            self.size += len(entry)
        self._write(batch, time_ns)
        self._wake()

    def _write(self, batch: list[bytes], time_ns: int) -> None:
        if not batch:
            return
        self._last_ns = time_ns  # the gzip header of a rotated file says when it ended
        view = memoryview(b"".join(batch))
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def changed(self) -> asyncio.Future[None]:
        """A future resolved at the next write or at close: how followers wait."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.closed:
            future.set_result(None)
        else:
            self._waiters.append(future)
        return future

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        os.close(self._fd)
        self._wake()

    def follow(self) -> Follower:
        """A follower positioned at the current end of the log (call on the loop)."""
        follower = Follower([os.open(self.path, _OPEN_READ)], self.size)
        self._followers.add(follower)
        return follower

    def unfollow(self, follower: Follower) -> None:
        self._followers.discard(follower)

    # --------------------------------------------------------------- rotation

    def _rotate(self) -> None:
        name = str(self.path)
        os.close(self._fd)
        try:
            if self.max_files < 2:
                _unlink(name)  # readers keep their descriptor of it; nobody sees it truncated
            else:
                for ext in ("", ".gz"):
                    _unlink(f"{name}.{self.max_files - 1}{ext}")
                for i in range(self.max_files - 1, 1, -1):
                    for ext in ("", ".gz"):
                        _rename(f"{name}.{i - 1}{ext}", f"{name}.{i}{ext}")
                _rename(name, name + ".1")
        except OSError as exc:
            log.warning("error rotating log file %s, log data may have been lost: %s", name, exc)
        self._fd = os.open(name, _OPEN_WRITE | os.O_TRUNC, self._perms)
        self.size = 0
        for follower in self._followers:
            follower.files.append(os.open(name, _OPEN_READ))
        state = _PENDING.get(name)
        if state is not None:
            state.count += 1
            for job in state.jobs:
                if 1 + state.count - job.rotation >= job.max_files:
                    job.cancelled = True
        if self.compress:
            self._start_compression()

    def _start_compression(self) -> None:
        """Compress what is `<log>.1` now, in a worker thread."""
        name = str(self.path)
        try:
            fd = os.open(name + ".1", _OPEN_READ)
        except OSError:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): compress right here
            try:
                if _gzip_fd(fd, name + ".1.compressing", self._last_ns, None):
                    _swap_in(name + ".1.compressing", f"{name}.1")
            finally:
                os.close(fd)
            return
        state = _PENDING.setdefault(name, _Rotations())
        job = _Job(state.count, self.max_files)
        state.jobs.add(job)
        task = loop.create_task(_compress(name, state, job, fd, self._last_ns))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    def _tidy(self) -> None:
        """Leftovers of compressions an earlier daemon did not finish."""
        name = str(self.path)
        if not self.compress or name in _PENDING:
            return
        prefix = self.path.name + "."
        with contextlib.suppress(OSError):
            for entry in os.listdir(self.path.parent):
                if entry.startswith(prefix) and entry.endswith(".compressing"):
                    _unlink(str(self.path.parent / entry))
        for i in range(1, self.max_files):
            if os.path.exists(f"{name}.{i}") and os.path.exists(f"{name}.{i}.gz"):
                _unlink(f"{name}.{i}")  # a .gz is only ever renamed into place complete
        if os.path.exists(name + ".1"):
            self._start_compression()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)


async def _compress(name: str, state: _Rotations, job: _Job, fd: int, last_ns: int) -> None:
    temp = f"{name}.{job.rotation}.compressing"
    try:
        done = await asyncio.to_thread(_gzip_fd, fd, temp, last_ns, job)
        # Back on the loop, where every rotation happens: the file is where the rotations since
        # its own have moved it, unless they pushed it past max-file.
        index = 1 + state.count - job.rotation
        if done and not job.cancelled and index < job.max_files:
            _swap_in(temp, f"{name}.{index}")
        else:
            _unlink(temp)
    finally:
        os.close(fd)
        state.jobs.discard(job)
        if not state.jobs and _PENDING.get(name) is state:
            del _PENDING[name]


def _swap_in(temp: str, target: str) -> None:
    """`target.gz` replaces `target` in one loop step: a reader sees one or the other."""
    try:
        os.rename(temp, target + ".gz")
    except OSError as exc:
        log.warning("error compressing log file %s: %s", target, exc)
        _unlink(temp)
        return
    _unlink(target)


def _gzip_fd(fd: int, target: str, last_ns: int, job: _Job | None) -> bool:
    """gzip what `fd` holds into `target`, with dockerd's `{"lastTime":…}` gzip extra field;
    gives up (False) when the job is cancelled meanwhile."""
    extra = orjson.dumps({"lastTime": format_time_nano(last_ns)}) if last_ns else b""
    flags = 4 if extra else 0
    header = b"\x1f\x8b\x08" + bytes([flags]) + b"\x00\x00\x00\x00\x00\xff"
    if extra:
        header += struct.pack("<H", len(extra)) + extra
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    crc = 0
    size = 0
    try:
        with open(target, "wb") as out:
            out.write(header)
            position = 0
            while chunk := os.pread(fd, READ_CHUNK, position):
                if job is not None and job.cancelled:
                    out.close()
                    _unlink(target)
                    return False
                position += len(chunk)
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                out.write(compressor.compress(chunk))
            out.write(compressor.flush())
            out.write(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        log.warning("error compressing log file into %s: %s", target, exc)
        _unlink(target)
        return False
    return True


def _gzip_last_time(data: bytes) -> int | None:
    """The lastTime of a rotated file's gzip header (dockerd skips files older than --since)."""
    if len(data) < 12 or data[:2] != b"\x1f\x8b" or not data[3] & 4:
        return None
    (length,) = struct.unpack("<H", data[10:12])
    try:
        meta = orjson.loads(data[12 : 12 + length])
        return parse_time_ns(meta["lastTime"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _rename(source: str, target: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.rename(source, target)


# ------------------------------------------------------------------------------------ reading


@dataclass(slots=True, eq=False)
class Follower:
    """A reader's place in a live log: the files still to read, and the offset in the first."""

    files: list[int]
    offset: int


@dataclass(frozen=True, slots=True)
class _Source:
    fd: int
    gz: bool
    limit: int | None  # the live file's size when the reader started


def _open_sources(path: Path, max_files: int, live_size: int | None) -> list[_Source]:
    """Open the rotated files oldest first, then the current one (on the loop: no rotation can
    happen in between)."""
    sources = []
    for i in range(max(max_files, 2) - 1, 0, -1):
        for ext, gz in (("", False), (".gz", True)):
            try:
                fd = os.open(f"{path}.{i}{ext}", _OPEN_READ)
            except FileNotFoundError:
                continue
            sources.append(_Source(fd, gz, None))
            break
    with contextlib.suppress(FileNotFoundError):
        sources.append(_Source(os.open(path, _OPEN_READ), False, live_size))
    return sources


def _pread_all(fd: int, start: int, limit: int | None = None) -> bytes:
    parts = []
    position = start
    while limit is None or position < limit:
        want = READ_CHUNK if limit is None else min(READ_CHUNK, limit - position)
        chunk = os.pread(fd, want, position)
        if not chunk:
            break
        parts.append(chunk)
        position += len(chunk)
    return b"".join(parts)


def _decode_source(source: _Source, codec: Codec, since_ns: int) -> list[LogEntry]:
    data = _pread_all(source.fd, 0, source.limit)
    if source.gz:
        last = _gzip_last_time(data)
        if since_ns and last is not None and last < since_ns:
            return []
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            log.warning("skipping an unreadable compressed log file: %s", exc)
            return []
    entries, _ = codec.decode(data)
    return entries


# Small enough that one slice's decoded entries (~17k objects) never lift the daemon's resident
# size for good (4 MiB slices left ~15 MiB of fragmented heap after a 200k-line read), large
# enough that a thread hop per slice costs nothing measurable.
SLICE = 1 << 20


def _decode_slice(
    source: _Source, codec: Codec, opts: LogsOptions, offset: int
) -> tuple[list[LogEntry], int | None]:
    """The wanted entries of the next slice of `source` from `offset`, and where the next slice
    starts (None at the end). Compressed files are decoded whole."""
    if source.gz:
        since_ns = int(opts.since * 1e9) if opts.since else 0
        entries = _decode_source(source, codec, since_ns)
        return [e for e in entries if entry_wanted(opts, e.stream, e.time_ns)], None
    size = SLICE
    while True:
        limit = source.limit
        want = size if limit is None else min(size, max(0, limit - offset))
        data = os.pread(source.fd, want, offset) if want else b""
        entries, used = codec.decode(data)
        at_end = len(data) < size
        if used or at_end:
            break
        size *= 2  # one record longer than the slice: read more
    wanted = [e for e in entries if entry_wanted(opts, e.stream, e.time_ns)]
    return wanted, None if at_end else offset + used


def _read_backlog(sources: list[_Source], codec: Codec, opts: LogsOptions) -> list[LogEntry]:
    """The entries to print before following: the last `tail` of them (of either stream, as
    dockerd counts), then the since/until window and the stream selection."""
    try:
        if opts.tail == 0:
            return []
        since_ns = int(opts.since * 1e9) if opts.since else 0
        if opts.tail is not None and opts.tail > 0:
            gathered: list[LogEntry] = []
            for source in reversed(sources):
                gathered[:0] = _decode_source(source, codec, 0)
                if len(gathered) >= opts.tail:
                    break
            entries = gathered[-opts.tail :]
        else:
            entries = []
            for source in sources:
                entries.extend(_decode_source(source, codec, since_ns))
        return [e for e in entries if entry_wanted(opts, e.stream, e.time_ns)]
    finally:
        for source in sources:
            os.close(source.fd)


def _read_follow(
    files: list[int], offset: int, codec: Codec, opts: LogsOptions
) -> tuple[list[LogEntry], int]:
    """Everything new: the rest of each rotated-away file, then the complete entries of the
    last one. Returns the entries and the offset reached in the last file."""
    entries: list[LogEntry] = []
    position = offset
    for index, fd in enumerate(files):
        start = offset if index == 0 else 0
        parsed, used = codec.decode(_pread_all(fd, start))
        entries.extend(e for e in parsed if entry_wanted(opts, e.stream, e.time_ns))
        position = start + used
    return entries, position


class FileReader:
    """Reads a log file and its rotated predecessors; follows the live writer when there is one."""

    def __init__(self, path: Path, max_files: int, codec: Codec, live: LogFile | None) -> None:
        self._path = path
        self._max_files = max_files
        self._codec = codec
        self._live = live

    async def read(self, opts: LogsOptions) -> AsyncIterator[LogEntry]:
        live = self._live if self._live is not None and not self._live.closed else None
        sources = _open_sources(self._path, self._max_files, live.size if live else None)
        follower = live.follow() if live is not None and opts.follow else None
        pending: list[asyncio.Future[object]] = []
        try:
            if opts.tail is None or opts.tail < 0:
                # The whole log: decoded a slice at a time, so a long log never sits in memory.
                for source in sources:
                    offset: int | None = 0
                    while offset is not None:
                        entries, offset = await _in_thread(
                            pending, _decode_slice, source, self._codec, opts, offset
                        )
                        for entry in entries:
                            yield entry
                _close_after(pending, [source.fd for source in sources])
            else:
                for entry in await _in_thread(pending, _read_backlog, sources, self._codec, opts):
                    yield entry
            if follower is None or live is None:
                return
            while True:
                waiter = live.changed()  # both taken before the read: nothing slips between
                last_round = live.closed
                files = list(follower.files)
                entries, offset = await _in_thread(
                    pending, _read_follow, files, follower.offset, self._codec, opts
                )
                for fd in files[:-1]:
                    follower.files.remove(fd)
                    os.close(fd)
                follower.offset = offset
                for entry in entries:
                    yield entry
                if last_round:
                    return
                await waiter
        finally:
            if follower is not None and live is not None:
                live.unfollow(follower)
                _close_after(pending, follower.files)


async def _in_thread(pending: list[asyncio.Future[object]], fn: Callable, *args):  # type: ignore[type-arg]
    """Run `fn` in a worker thread; a cancelled reader leaves it running, and its descriptors
    are closed only once it is done (`_close_after`), never under its feet."""
    future = asyncio.get_running_loop().run_in_executor(None, fn, *args)
    pending[:] = [future]
    return await asyncio.shield(future)


def _close_after(pending: list[asyncio.Future[object]], fds: list[int]) -> None:
    def close(_: object = None) -> None:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    running = [f for f in pending if not f.done()]
    if running:
        running[0].add_done_callback(close)
    else:
        close()


class FileDriver(BaseDriver):
    """What json-file and local share: entries encoded by the driver, appended to a rotating
    LogFile, read back through the driver's codec."""

    codec: Codec
    path: Path
    _file: LogFile

    def encode(self, msg: Message) -> bytes:
        raise NotImplementedError

    def log(self, msg: Message) -> None:
        self.log_many([msg])

    def log_many(self, msgs: list[Message]) -> None:
        self._file.append([self.encode(m) for m in msgs], msgs[-1].time_ns)

    def changed(self) -> asyncio.Future[None]:
        """Resolved at the next write or at close (`logs --follow` waits on it)."""
        return self._file.changed()

    def reader(self) -> FileReader:
        return FileReader(self.path, self._file.max_files, self.codec, self._file)

    def _shutdown(self) -> None:
        self._file.close()
