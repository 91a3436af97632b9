"""cli.streams: stdcopy demultiplexing (split frames, in-band errors) and the hijacked
connection pump with stdin half-close."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest

from cli.api import Hijacked
from cli.streams import (
    STDERR,
    STDOUT,
    Demuxer,
    StdcopyError,
    demux,
    frame,
    pump_hijacked,
    write_frames,
)


def test_frames_split_anywhere() -> None:
    data = frame(1, b"hello\n") + frame(2, b"oops\n") + frame(1, b"") + frame(1, b"x" * 70000)
    for step in (1, 3, 7, 8, 9, len(data)):
        chunks = [data[i : i + step] for i in range(0, len(data), step)]
        got = list(demux(chunks))
        assert got == [
            (STDOUT, b"hello\n"),
            (STDERR, b"oops\n"),
            (STDOUT, b""),
            (STDOUT, b"x" * 70000),
        ]


def test_stdin_stream_is_stdout_and_systemerr_raises() -> None:
    d = Demuxer()
    assert list(d.feed(frame(0, b"in"))) == [(STDOUT, b"in")]
    with pytest.raises(StdcopyError, match="daemon broke"):
        list(d.feed(frame(3, b"daemon broke")))


def test_write_frames_raw_with_tty() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    write_frames([b"\x01raw tty bytes"], out, err, tty=True)
    assert out.getvalue() == b"\x01raw tty bytes" and err.getvalue() == b""
    out = io.BytesIO()
    write_frames([frame(1, b"o"), frame(2, b"e")], out, err, tty=False)
    assert out.getvalue() == b"o" and err.getvalue() == b"e"


def test_pump_copies_stdin_then_half_closes() -> None:
    """`echo data | docker run -i image cat`: stdin goes up, EOF half-closes, output comes back."""
    ours, daemon = socket.socketpair()
    r, w = os.pipe()
    os.write(w, b"piped input")
    os.close(w)

    def fake_daemon() -> None:
        got = b""
        while chunk := daemon.recv(1024):  # ends when the CLI shuts down its write side
            got += chunk
        daemon.sendall(frame(1, got.upper()) + frame(2, b"done"))
        daemon.close()

    t = threading.Thread(target=fake_daemon)
    t.start()
    out, err = io.BytesIO(), io.BytesIO()
    pump_hijacked(Hijacked(ours, b""), False, out, err, r)
    t.join(5)
    os.close(r)
    assert out.getvalue() == b"PIPED INPUT"
    assert err.getvalue() == b"done"
