"""The json-file log driver: dockerd's on-disk format, written as output arrives, read back for
`docker logs`.

Each line is `{"log":"hi\\n","stream":"stdout","time":"2026-…Z"}`. Output is split on newlines;
a line without its newline is held until the newline comes, the buffer passes 16 KiB (dockerd's
copier does the same) or the stream ends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .types import LogsOptions, now_rfc3339

MAX_PARTIAL = 16 * 1024


@dataclass(frozen=True, slots=True)
class LogEntry:
    stream: str  # "stdout" | "stderr"
    data: bytes
    time: str  # RFC 3339 with nanoseconds


class JsonFileLog:
    """Appends a container's output to its json-file log; followers wait on `changed()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._waiters: list[asyncio.Future[None]] = []

    def write(self, stream: str, data: bytes) -> None:
        """Log the complete lines of `data`; keep its unfinished tail for the next write."""
        buffer = self._partial[stream] + data
        lines = buffer.split(b"\n")
        tail = lines.pop()
        out = []
        for line in lines:
            while len(line) >= MAX_PARTIAL:
                out.append(_encode(stream, line[:MAX_PARTIAL]))
                line = line[MAX_PARTIAL:]
            out.append(_encode(stream, line + b"\n"))
        while len(tail) >= MAX_PARTIAL:
            out.append(_encode(stream, tail[:MAX_PARTIAL]))
            tail = tail[MAX_PARTIAL:]
        self._partial[stream] = tail
        if out:
            os.write(self._fd, b"".join(out))
            self._wake()

    def end_stream(self, stream: str) -> None:
        """The stream closed: its unfinished last line is logged as it is."""
        tail = self._partial[stream]
        self._partial[stream] = b""
        if tail:
            os.write(self._fd, _encode(stream, tail))
            self._wake()

    def changed(self) -> asyncio.Future[None]:
        """A future resolved at the next write (or close): how `logs --follow` waits."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future

    def close(self) -> None:
        for stream in self._partial:
            self.end_stream(stream)
        os.close(self._fd)
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)


def _encode(stream: str, data: bytes) -> bytes:
    line = {"log": data.decode("utf-8", "replace"), "stream": stream, "time": now_rfc3339()}
    return orjson.dumps(line) + b"\n"


def parse_time(text: str) -> float:
    """RFC 3339 (nanosecond precision allowed) → UNIX seconds."""
    text = text.rstrip("Z")
    whole, _, fraction = text.partition(".")
    stamp = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return stamp + (float("0." + fraction) if fraction else 0.0)


def _decode_lines(chunk: bytes, opts: LogsOptions) -> list[LogEntry]:
    wanted = {s for s, on in (("stdout", opts.stdout), ("stderr", opts.stderr)) if on}
    entries = []
    for raw in chunk.splitlines():
        if not raw:
            continue
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue  # a torn last line after a crash: skip it, as dockerd's decoder does
        if item.get("stream") not in wanted:
            continue
        stamp = item.get("time", "")
        if opts.since or opts.until:
            seconds = parse_time(stamp)
            if opts.since and seconds < opts.since:
                continue
            if opts.until and seconds > opts.until:
                continue
        entries.append(LogEntry(item["stream"], item.get("log", "").encode(), stamp))
    return entries


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    """Whole lines from `offset` on, and the offset after them (a torn tail is left for later)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return b"", offset
    end = data.rfind(b"\n") + 1
    return data[:end], offset + end


async def read_log(
    log_path: Path,
    opts: LogsOptions,
    live: JsonFileLog | None,
    stopped: asyncio.Event | None,
) -> AsyncIterator[LogEntry]:
    """Yield the log's entries; with follow, keep yielding until `stopped` is set.

    Followers read the file from their own offset each time the writer says it changed, so an
    entry is never lost or seen twice between the backlog and the live tail.
    """
    data, offset = await asyncio.to_thread(_read_from, log_path, 0)
    entries = await asyncio.to_thread(_decode_lines, data, opts)
    if opts.tail is not None and opts.tail >= 0:
        entries = entries[-opts.tail :] if opts.tail else []
    for entry in entries:
        yield entry
    if not opts.follow or live is None or stopped is None:
        return
    while True:
        # Both taken before the read: no write slips between wake-ups, and once `stopped` was
        # seen the read that follows holds everything the container wrote.
        waiter = live.changed()
        last_round = stopped.is_set()
        data, offset = await asyncio.to_thread(_read_from, log_path, offset)
        for entry in _decode_lines(data, opts):
            yield entry
        if last_round:
            return
        stop_wait = asyncio.ensure_future(stopped.wait())
        try:
            await asyncio.wait({waiter, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
