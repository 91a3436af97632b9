"""Byte streams between the daemon and the terminal: stdcopy demultiplexing, the hijacked
attach/exec connection (output pump, stdin pump with half-close), raw-mode TTYs and SIGWINCH.

Without a TTY the daemon multiplexes stdout and stderr with stdcopy's 8-byte header
(`[stream, 0, 0, 0, size big-endian u32]`; stream 1 is stdout, 2 stderr, 3 a daemon error);
with a TTY the bytes are raw.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

__all__ = [
    "STDERR",
    "STDOUT",
    "Demuxer",
    "StdcopyError",
    "demux",
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


def pump_hijacked(
    conn: Any,
    tty: bool,
    stdout: BinaryIO,
    stderr: BinaryIO,
    stdin_fd: int | None,
    on_output_done: Callable[[], None] | None = None,
) -> None:
    """docker's holdHijackedConnection: copy the connection to stdout/stderr until the daemon
    closes it; when stdin_fd is given, copy it to the connection in a thread and half-close
    the write side at EOF (so `echo x | docker run -i ... cat` ends)."""
    import threading

    def send_stdin() -> None:
        assert stdin_fd is not None
        try:
            while True:
                data = os.read(stdin_fd, 32768)
                if not data:
                    break
                conn.send_all(data)
        except OSError:
            pass
        finally:
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

    try:
        write_frames(chunks(), stdout, stderr, tty)
    finally:
        if on_output_done is not None:
            on_output_done()


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Put the terminal on fd in raw mode for the duration (docker's SetRawTerminal)."""
    import termios
    import tty

    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(height, width) of the terminal on fd, or None when it is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


def watch_resize(fd: int, resize: Callable[[int, int], None]) -> Callable[[], None]:
    """Call resize(h, w) now and on every SIGWINCH; returns a function that stops watching."""

    def handler(_signum: int = 0, _frame: Any = None) -> None:
        size = terminal_size(fd)
        if size is not None and size[0] and size[1]:
            with contextlib.suppress(Exception):
                resize(*size)

    handler()
    if sys.platform.startswith("win"):  # pragma: no cover
        return lambda: None
    previous = signal.signal(signal.SIGWINCH, handler)
    return lambda: signal.signal(signal.SIGWINCH, previous)
