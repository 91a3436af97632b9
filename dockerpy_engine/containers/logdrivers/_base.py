"""The log driver interface and what every driver shares.

A container's output reaches a driver as raw chunks (`write`); the copier part of `BaseDriver`
cuts them into messages the way dockerd's copier does (one per line, the newline dropped; a line
that fills the 16 KiB buffer goes out in partial pieces; an unfinished last line at the end of the
stream goes out as it is), and each driver only says what one message becomes (`log`).

`docker logs` reads entries back through a `LogReader`; only drivers that keep the output locally
offer one.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from ..types import LogsOptions

MAX_PARTIAL = 16 * 1024  # dockerd's copier buffer: a longer line is logged in pieces
DAEMON_NAME = "docker"  # what `{{.DaemonName}}` gives in dockerd's tag templates
STREAMS = ("stdout", "stderr")
ERROR_EVERY = 1.0  # at most one "error writing log message" a second per driver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Partial:
    """dockerd's PartialLogMetaData: which piece of a split line a message is."""

    id: str
    ordinal: int  # 1-based
    last: bool  # the piece that ended with the newline


@dataclass(frozen=True, slots=True)
class Message:
    """One logged line (without its newline), or one piece of a line too long for the buffer."""

    stream: str  # "stdout" | "stderr"
    line: bytes
    time_ns: int
    partial: Partial | None = None

    @property
    def ends_line(self) -> bool:
        """Whether the line ended here: file drivers add the newline back only then."""
        return self.partial is None or self.partial.last


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What `docker logs` prints: the bytes as the container wrote them, and their time."""

    stream: str  # "stdout" | "stderr"
    data: bytes
    time_ns: int

    @property
    def time(self) -> str:
        """RFC 3339, nine fraction digits, UTC (dockerd's RFC3339NanoFixed); made only when
        `--timestamps` asks for it, since formatting every entry would double a read's cost."""
        return format_time_fixed(self.time_ns)


@dataclass(frozen=True, slots=True)
class LogInfo:
    """dockerd's logger.Info: what tag templates and extra attributes are made of."""

    container_id: str
    name: str  # with its leading slash, as dockerd stores it
    image_id: str = ""  # "sha256:…"
    image_name: str = ""  # the reference the container was created from
    created: str = ""  # RFC 3339
    entrypoint: str = ""  # the command's path
    args: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    env: tuple[str, ...] = ()
    directory: Path | None = None  # the container's directory: local and cache files live there
    log_path: Path | None = None  # the json-file log ("<dir>/<id>-json.log")

    @property
    def short_id(self) -> str:
        return self.container_id[:12]

    @property
    def short_name(self) -> str:
        return self.name.removeprefix("/")

    @property
    def command(self) -> str:
        return " ".join([self.entrypoint, *self.args])

    def template_fields(self) -> dict[str, str]:
        """The names a `tag` template may use: dockerd's methods and fields of logger.Info."""
        return {
            "ID": self.short_id,
            "FullID": self.container_id,
            "Name": self.short_name,
            "ImageID": self.image_id[:12],  # dockerd cuts the "sha256:…" string as it is
            "ImageFullID": self.image_id,
            "ImageName": self.image_name,
            "Command": self.command,
            "DaemonName": DAEMON_NAME,
            "Hostname": socket.gethostname(),
            "ContainerID": self.container_id,
            "ContainerName": self.name,
            "ContainerEntrypoint": self.entrypoint,
            "ContainerImageID": self.image_id,
            "ContainerImageName": self.image_name,
            "ContainerCreated": self.created,
        }


class LogReader(Protocol):
    """Reads back what a driver kept, for `docker logs` and `attach` with logs=1."""

    def read(self, opts: LogsOptions) -> AsyncIterator[LogEntry]:
        """The entries (tail, since/until and stream selection applied); with `opts.follow`,
        new entries too until the writer closes (the container's output ended)."""
        ...


@runtime_checkable
class LogDriver(Protocol):
    """What a container's IO pumps talk to: chunks in, nothing back; never blocks the loop."""

    name: str

    def write(self, stream: str, data: bytes) -> None: ...

    def end_stream(self, stream: str) -> None: ...

    def close(self) -> None: ...


class BaseDriver:
    """The copier: splits chunks into messages and hands them to `log_many` (by default `log`
    for each); subclasses write them.

    Optional hooks: `reader()` for drivers that can be read back, `_shutdown()` for what `close`
    must release, `wait_closed()` for drivers with background delivery.
    """

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self._pending: dict[str, bytes] = {s: b"" for s in STREAMS}
        self._partial_ids: dict[str, tuple[str, int]] = {}
        self._closed = False
        self._error_at = -ERROR_EVERY

    # ---------------------------------------------------------------- the copier

    def write(self, stream: str, data: bytes) -> None:
        """Log the complete lines of `data`; keep its unfinished tail for the next write."""
        if self._closed:
            return
        now = _now_ns()
        out: list[Message] = []
        buffer = self._pending[stream] + data
        lines = buffer.split(b"\n")
        tail = lines.pop()
        for line in lines:
            while len(line) >= MAX_PARTIAL:
                out.append(self._message(stream, line[:MAX_PARTIAL], now, last=False))
                line = line[MAX_PARTIAL:]
            out.append(self._message(stream, line, now, last=True))
        while len(tail) >= MAX_PARTIAL:
            out.append(self._message(stream, tail[:MAX_PARTIAL], now, last=False))
            tail = tail[MAX_PARTIAL:]
        self._pending[stream] = tail
        if out:
            self._deliver(out)

    def end_stream(self, stream: str) -> None:
        """The stream closed: its unfinished last line is logged as it is (no newline)."""
        tail = self._pending[stream]
        self._pending[stream] = b""
        if tail and not self._closed:
            self._deliver([self._message(stream, tail, _now_ns(), last=False)])
        self._partial_ids.pop(stream, None)

    def _deliver(self, msgs: list[Message]) -> None:
        """A failing driver (a full disk…) must not stop the pumps: the container would block
        on its pipe. The error goes to the daemon's log, rate-limited as dockerd's."""
        try:
            self.log_many(msgs)
        except Exception as exc:
            now = time.monotonic()
            if now - self._error_at >= ERROR_EVERY:
                self._error_at = now
                log.error("%s log driver: error writing log message: %s", self.name, exc)

    def _message(self, stream: str, line: bytes, now: int, last: bool) -> Message:
        """`last=True`: the piece ends a line. A line logged whole carries no partial metadata."""
        current = self._partial_ids.pop(stream, None)
        if last and current is None:
            return Message(stream, line, now)
        pid, ordinal = current or (secrets.token_hex(32), 0)
        ordinal += 1
        if not last:
            self._partial_ids[stream] = (pid, ordinal)
        return Message(stream, line, now, Partial(pid, ordinal, last))

    # ---------------------------------------------------------------- per driver

    def log(self, msg: Message) -> None:
        raise NotImplementedError

    def log_many(self, msgs: list[Message]) -> None:
        """The messages of one chunk of output; file drivers write them in one go."""
        for msg in msgs:
            self.log(msg)

    def reader(self) -> LogReader | None:
        return None

    def close(self) -> None:
        """Flush both streams' unfinished lines, then release the driver (idempotent)."""
        if self._closed:
            return
        for stream in STREAMS:
            self.end_stream(stream)
        self._closed = True
        self._shutdown()

    def _shutdown(self) -> None:
        pass

    async def wait_closed(self) -> None:
        """Until everything accepted was delivered or given up on (network drivers)."""

    @property
    def closed(self) -> bool:
        return self._closed


def _now_ns() -> int:
    return time.time_ns()


# ------------------------------------------------------------------------------------ time


def format_time_fixed(ns: int) -> str:
    """RFC3339NanoFixed in UTC: what `docker logs -t` prints."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


def format_time_nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped (json-file's format)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


def parse_time_ns(text: str) -> int:
    """RFC 3339 with any number of fraction digits (and 'Z' or an offset) → UNIX nanoseconds."""
    if text[-1:] == "Z" and (len(text) == 20 or (text[19:20] == "." and text[20:-1].isdigit())):
        # The fast path for what our logs hold: "2006-01-02T15:04:05.999999999Z".
        fraction = text[20:-1]
        nanos = int(fraction.ljust(9, "0")[:9]) if fraction else 0
        return _epoch_seconds(text[:19]) * 1_000_000_000 + nanos
    body = text.strip()
    offset = 0
    if body.endswith(("Z", "z")):
        body = body[:-1]
    elif len(body) > 6 and body[-6] in "+-" and body[-3] == ":":
        sign = 1 if body[-6] == "+" else -1
        offset = sign * (int(body[-5:-3]) * 3600 + int(body[-2:]) * 60)
        body = body[:-6]
    whole, _, fraction = body.partition(".")
    if fraction and not fraction.isdigit():
        raise ValueError(f"invalid time: {text!r}")
    seconds = _epoch_seconds(whole) - offset
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    return seconds * 1_000_000_000 + nanos


@lru_cache(maxsize=4096)
def _epoch_seconds(whole: str) -> int:
    """Cached: the lines of a log share their seconds, and strptime is most of a read's cost."""
    stamp = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int((stamp - _EPOCH).total_seconds())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entry_wanted(opts: LogsOptions, stream: str, time_ns: int) -> bool:
    """Stream selection and the since/until window (both inclusive, in UNIX seconds)."""
    if stream == "stdout" and not opts.stdout:
        return False
    if stream == "stderr" and not opts.stderr:
        return False
    if stream not in STREAMS:
        return False
    seconds = time_ns / 1e9
    if opts.since and seconds < opts.since:
        return False
    return not (opts.until and seconds > opts.until)
