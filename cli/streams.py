"""Byte streams between the daemon and the terminal: stdcopy demultiplexing, the hijacked
attach/exec connection (output pump, stdin pump with half-close), raw-mode TTYs and SIGWINCH.

Without a TTY the daemon multiplexes stdout and stderr with stdcopy's 8-byte header
(`[stream, 0, 0, 0, size big-endian u32]`; stream 1 is stdout, 2 stderr, 3 a daemon error);
with a TTY the bytes are raw.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, BinaryIO

__all__ = [
    "STDERR",
    "STDOUT",
    "Demuxer",
    "StdcopyError",
    "demux",
    "detach_key_bytes",
    "pump_hijacked",
    "raw_terminal",
    "watch_resize",
]

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3


class StdcopyError(Exception):
    """A stream-3 frame: the daemon reported an error in-band."""


class Demuxer:
    """Incremental stdcopy parser: feed() bytes as they arrive, get (stream, payload) frames."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self.buf += data
        while len(self.buf) >= 8:
            stream = self.buf[0]
            size = int.from_bytes(self.buf[4:8], "big")
            if len(self.buf) < 8 + size:
                break
            payload = self.buf[8 : 8 + size]
            self.buf = self.buf[8 + size :]
            if stream == SYSTEMERR:
                raise StdcopyError(payload.decode(errors="replace"))
            if stream not in (STDIN, STDOUT, STDERR):
                raise StdcopyError(f"Unrecognized input header: {stream}")
            yield (STDOUT if stream == STDIN else stream), payload


def demux(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Frames from a whole multiplexed stream."""
    d = Demuxer()
    for chunk in chunks:
        yield from d.feed(chunk)


def frame(stream: int, payload: bytes) -> bytes:
    """One stdcopy frame (for tests and fakes)."""
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def write_frames(chunks: Iterable[bytes], out: BinaryIO, err: BinaryIO, tty: bool) -> None:
    """Copy a log/attach stream to out/err, demultiplexing unless the container has a TTY."""
    if tty:
        for chunk in chunks:
            out.write(chunk)
            out.flush()
        return
    for stream, payload in demux(chunks):
        target = err if stream == STDERR else out
        target.write(payload)
        target.flush()


def detach_key_bytes(spec: str) -> bytes:
    """The detach sequence of `--detach-keys`/config.json (ctrl-p,ctrl-q when unset or, as the
    docker CLI does, when unknown: the daemon has refused unknown ones by then)."""
    from dockerpy_engine.containers.detach import DEFAULT_DETACH_KEYS, parse_detach_keys
    from dockerpy_engine.errdefs import InvalidParameter

    try:
        return parse_detach_keys(spec or DEFAULT_DETACH_KEYS)
    except InvalidParameter:
        return parse_detach_keys(DEFAULT_DETACH_KEYS)


def pump_hijacked(
    conn: Any,
    tty: bool,
    stdout: BinaryIO,
    stderr: BinaryIO,
    stdin_fd: int | None,
    detach_keys: bytes = b"",
) -> bool:
    """docker's hijackedIOStreamer: copy the connection to stdout/stderr until the daemon
    closes it; when stdin_fd is given, copy it to the connection in a thread and half-close
    the write side at EOF (so `echo x | docker run -i ... cat` ends). With `detach_keys` (a
    TTY session's), typing them ends the session at once and they are not sent (docker's
    client-side escape proxy); returns whether that happened."""
    import threading

    from dockerpy_engine.containers.detach import DetachScanner

    detached = threading.Event()

    def send_stdin() -> None:
        assert stdin_fd is not None
        scanner = DetachScanner(detach_keys) if detach_keys else None
        try:
            while True:
                data = os.read(stdin_fd, 32768)
                if not data:
                    break
                if scanner is not None:
                    data, escape = scanner.feed(data)
                    if escape:
                        detached.set()
                        conn.shutdown()  # the output copy below sees the end and returns
                        return
                if data:
                    conn.send_all(data)
        except OSError:
            pass
        if not tty:
            conn.close_write()

    if stdin_fd is not None:
        threading.Thread(target=send_stdin, daemon=True).start()

    def chunks() -> Iterator[bytes]:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            yield data

    write_frames(chunks(), stdout, stderr, tty)
    return detached.is_set()


class raw_terminal:
    """Put the terminal on fd in raw mode for the duration (docker's SetRawTerminal); nothing
    when fd is not a terminal."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None

    def __enter__(self) -> None:
        if self.fd is None or not os.isatty(self.fd):
            return
        import termios
        import tty

        self.saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd, termios.TCSANOW)

    def __exit__(self, *_exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            self.saved = None


def watch_resize(
    size: Callable[[], tuple[int, int]],
    resize: Callable[[int, int], None],
    first: tuple[int, int] | None = None,
) -> Callable[[], None]:
    """docker's MonitorTtySize: resize(h, w) to the terminal's size now (or to `first`, then
    the real size), retried in the background for a while when the daemon refuses it (an exec
    that has not started yet), then again on every SIGWINCH; returns a function that stops
    watching. A (0, 0) size (not a terminal) is never sent."""
    import signal
    import threading

    def send(h: int, w: int) -> bool:
        if not (h or w):
            return True
        try:
            resize(h, w)
        except Exception:
            return False
        return True

    def retry() -> None:
        for attempt in range(10):
            time.sleep((attempt + 1) * 0.01)
            if send(*size()):
                return
        sys.stderr.write("failed to resize tty, using default size\n")

    if first is not None:
        send(*first)
    if not send(*size()):
        threading.Thread(target=retry, daemon=True).start()
    previous = signal.signal(signal.SIGWINCH, lambda _signum, _frame: send(*size()))
    return lambda: signal.signal(signal.SIGWINCH, previous)
