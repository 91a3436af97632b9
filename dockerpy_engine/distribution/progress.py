"""dockerd's progress stream: JSON messages, one per line, that the docker CLI draws as bars.

The shapes follow dockerd's streamformatter and jsonmessage (field order as Go marshals
them: status, progressDetail, progress, id, errorDetail, error, aux):

- `message(id, text)` is progress.Message: `{"status": text, "id": id}` (no detail);
- `update(id, action)` is progress.Update: `{"status": action, "progressDetail": {}, "id": id}`;
- `bar(id, action, current, total)` is a progress reader's update, with the text bar
  jsonmessage draws for a 200-column terminal, sent at most every 100 ms per id (the last
  one always), as dockerd's rate-limited reader does;
- `reading(...)` is progress.NewProgressReader: a byte stream passed through with bars
  (docker import of a URL: "Importing");
- `aux(data)` is progress.Aux (push's `{"Tag", "Digest", "Size"}`);
- `format_error(text)` is the in-band error after the stream has started.

Lines end in CRLF like dockerd's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

Writer = Callable[[bytes], Awaitable[None]]

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BAR_WIDTH = 50
RATE_INTERVAL = 0.1
READER_STEP = 512 << 10


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits (`2.152MB`, `772.8kB`)."""
    index = 0
    while size >= 1000.0 and index < len(_UNITS) - 1:
        size /= 1000.0
        index += 1
    return f"{size:.4g}{_UNITS[index]}"


def progress_text(current: int, total: int) -> str:
    """JSONProgress.String for a wide terminal: `[====>     ]  1.2MB/3.4MB`."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    percentage = min(int(current / total * 100) // 2, _BAR_WIDTH)
    bar = "[" + "=" * percentage + ">" + " " * max(_BAR_WIDTH - percentage, 0) + "] "
    if current > total:
        return bar + f"{human_size(current):>8}"
    return bar + f"{human_size(current):>8}/{human_size(total)}"


def _line(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message) + b"\r\n"


def format_status(id: str, text: str) -> bytes:
    message: dict[str, Any] = {"status": text}
    if id:
        message["id"] = id
    return _line(message)


def format_progress(id: str, action: str, current: int = 0, total: int = 0) -> bytes:
    detail: dict[str, int] = {}
    if current:
        detail["current"] = current
    if total:
        detail["total"] = total
    message: dict[str, Any] = {"status": action, "progressDetail": detail}
    text = progress_text(current, total)
    if text:
        message["progress"] = text
    if id:
        message["id"] = id
    return _line(message)


def format_aux(data: Any) -> bytes:
    return _line({"progressDetail": {}, "aux": data})


def format_error(text: str, code: int | None = None) -> bytes:
    """The in-band error; `code` is JSONError's (a failed RUN's exit status), an int."""
    detail: dict[str, Any] = {"code": code, "message": text} if code else {"message": text}
    return _line({"errorDetail": detail, "error": text})


def short_id(digest: str) -> str:
    """stringid.TruncateID: the 12 first hex digits, what progress lines are keyed by."""
    return digest.partition(":")[2][:12] if ":" in digest else digest[:12]


class Progress:
    """One request's progress output. Writes are serialised (layers report concurrently)."""

    def __init__(
        self,
        write: Writer,
        *,
        interval: float = RATE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._lock = asyncio.Lock()
        self._interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self.started = False

    async def emit(self, line: bytes) -> None:
        async with self._lock:
            self.started = True
            await self._write(line)

    async def message(self, id: str, text: str) -> None:
        await self.emit(format_status(id, text))

    async def update(self, id: str, action: str) -> None:
        await self.emit(format_progress(id, action))

    async def bar(
        self, id: str, action: str, current: int, total: int, *, last_update: bool = False
    ) -> None:
        """A progress reader's update; dropped when the last one for `id` is too recent
        (unless it is the final one: current reached total, or the reader's end when the
        total is unknown) or said the same."""
        now = self._clock()
        key = (id, action)
        last = self._last.get(key)
        final = last_update or (total > 0 and current >= total)
        if last is not None and (
            last[1] == current or (not final and now - last[0] < self._interval)
        ):
            return
        self._last[key] = (now, current)
        await self.emit(format_progress(id, action, current, total))

    async def aux(self, data: Any) -> None:
        await self.emit(format_aux(data))

    async def reading(
        self, chunks: AsyncIterator[bytes], id: str, action: str, total: int
    ) -> AsyncIterator[bytes]:
        """`chunks` passed through with a bar every 512 kB (or 1% of `total`, if less) and
        one at the end, as dockerd's progress reader; `total` < 0 when it is unknown."""
        every = min(READER_STEP, total // 100) if total > 0 else READER_STEP
        current = shown = 0
        async for chunk in chunks:
            current += len(chunk)
            if current - shown > every:
                await self.bar(id, action, current, total)
                shown = current
            yield chunk
        await self.bar(id, action, current, total, last_update=True)


async def discard(_line: bytes) -> None:
    """A writer for work nobody watches (e.g. a pull started by `docker run`'s fallback)."""
