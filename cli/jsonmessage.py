"""moby's pkg/jsonmessage: how the docker CLI draws the daemon's JSON progress streams (pull,
push, load, import, build, and the pull inside `run`).

On a terminal each layer keeps its own line, redrawn in place with ANSI cursor moves and a
`[====>   ]` bar; to a pipe, lines with a byte count are dropped and the rest are printed
once each (`id: Pulling fs layer`, `Digest: ...`). An `error` message ends the stream with
JSONMessageError, whose `code` becomes the exit status where the CLI uses it (`build`).
Pure apart from the terminal width, so it is unit-tested with StringIO.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

__all__ = ["JSONMessageError", "display_stream", "progress_string"]


class JSONMessageError(Exception):
    """The stream's `errorDetail`: its message, and its code (0 when the daemon gave none)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def _terminal_width(out: TextIO) -> int:
    """JSONProgress.width(): the terminal's columns, 200 when unknown."""
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 200


def _go_duration_seconds(seconds: int) -> str:
    """time.Duration.String() of a whole number of seconds (`1m5s`, `2h0m0s`, `0s`)."""
    if seconds <= 0:
        return "0s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def progress_string(detail: dict[str, Any], width: int = 200, now: float | None = None) -> str:
    """JSONProgress.String(): `[==>   ] 1.2MB/3.4MB 5s`; the bar only on a terminal wider
    than 110 columns; `` when there is nothing to count."""
    from cli.format import human_size

    current = int(detail.get("current") or 0)
    total = int(detail.get("total") or 0)
    units = detail.get("units") or ""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}" if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = f"[{'=' * percentage}>{' ' * max(50 - percentage, 0)}] "
    numbers = ""
    if detail.get("hidecounts"):
        pass
    elif not units:
        numbers = f"{human_size(current):>8}/{human_size(total)}"
        if current > total:
            numbers = f"{human_size(current):>8}"
    else:
        numbers = f"{current}/{total} {units}"
        if current > total:
            numbers = f"{current} {units}"
    left = ""
    start = int(detail.get("start") or 0)
    if current > 0 and start > 0 and percentage < 50:
        elapsed = (time.time() if now is None else now) - start
        left = " " + _go_duration_seconds(round((total - current) * (elapsed / current)))
    return bar + numbers + left


def _display(msg: dict[str, Any], out: TextIO, tty: bool, width: int) -> None:
    """JSONMessage.Display: one message, in place on a terminal."""
    detail = msg.get("progressDetail")
    progress = progress_string(detail, width) if detail is not None else ""
    endl = ""
    if tty and not msg.get("stream") and detail is not None:
        out.write("\x1b[2K\r")
        endl = "\r"
    elif progress:  # no progress bars without a terminal
        return
    if msg.get("id"):
        out.write(f"{msg['id']}: ")
    if msg.get("from"):
        out.write(f"(from {msg['from']}) ")
    status = msg.get("status") or ""
    if detail is not None and tty:
        out.write(f"{status} {progress}{endl}")
    elif msg.get("progress"):
        out.write(f"{status} {msg['progress']}{endl}")
    elif msg.get("stream"):
        out.write(f"{msg['stream']}{endl}")
    else:
        out.write(f"{status}{endl}\n")


def display_stream(
    lines: Iterable[bytes],
    out: TextIO,
    tty: bool,
    aux: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """DisplayJSONMessagesStream: draw every message; `aux` messages go to the callback
    (build's image ID, push's digest); raise JSONMessageError at an `error`."""
    width = _terminal_width(out) if tty else 200
    ids: dict[str, int] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        if msg.get("errorDetail") or msg.get("error"):
            detail = msg.get("errorDetail") or {}
            message = detail.get("message") or msg.get("error") or ""
            raise JSONMessageError(message, int(detail.get("code") or 0))
        if msg.get("aux") is not None:
            if aux is not None:
                aux(msg)
            continue
        diff = 0
        if msg.get("id") and (msg.get("progressDetail") is not None or msg.get("progress")):
            line_no = ids.get(msg["id"])
            if line_no is None:
                line_no = ids[msg["id"]] = len(ids)
                if tty:
                    out.write("\n")
            diff = len(ids) - line_no
            if tty and diff:
                out.write(f"\x1b[{diff}A")
        else:
            ids = {}  # a line outside the layer block: later layers start a new block
        _display(msg, out, tty, width)
        if msg.get("id") and tty and diff:
            out.write(f"\x1b[{diff}B")
        out.flush()
