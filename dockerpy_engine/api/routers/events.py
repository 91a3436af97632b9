"""GET /events: the recent past (since), then live events until `until` or the client leaves."""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
from aiohttp import web

from ...errdefs import InvalidParameter
from ...events import Event
from .._params import qfilters
from ..keys import EVENTS


def _qtime_ns(request: web.Request, name: str) -> int:
    """since/until as the CLI sends them: UNIX seconds, optionally with a nanosecond fraction."""
    raw = request.query.get(name, "")
    if not raw:
        return 0
    seconds, _, fraction = raw.partition(".")
    try:
        return int(seconds) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {raw}") from None


async def get_events(request: web.Request) -> web.StreamResponse:
    """As dockerd: filter keys it does not know are ignored (no validation), the backlog is
    sent when `since` or `until` is given, and the stream ends at `until`."""
    filters = qfilters(request)
    since, until = _qtime_ns(request, "since"), _qtime_ns(request, "until")
    now = time.time_ns()
    if until and until < since:
        raise InvalidParameter(
            f"`since` time ({request.query.get('since', '')}) cannot be after "
            f"`until` time ({request.query.get('until', '')})"
        )
    bus = request.app[EVENTS]
    # Listen and take the backlog in one step (no await between): no event is sent twice.
    listener = bus.listen(filters) if not until or until > now else None
    backlog = bus.past(since, until, filters) if since or until else []
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    await response.prepare(request)
    try:
        for event in backlog:
            await response.write(_line(event))
        if listener is None:
            return response
        timeout = (until - time.time_ns()) / 1e9 if until else None
        async with asyncio.timeout(timeout):
            while (event := await listener.queue.get()) is not None:
                await response.write(_line(event))
    except TimeoutError:
        pass
    finally:
        if listener is not None:
            bus.forget(listener)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def _line(event: Event) -> bytes:
    return orjson.dumps(event.to_api()) + b"\n"


ROUTES = [web.get("/events", get_events)]
