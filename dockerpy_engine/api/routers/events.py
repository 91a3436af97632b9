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

_FILTER_KEYS = {
    "config", "container", "daemon", "event", "image", "label", "network", "node", "plugin",
    "scope", "secret", "service", "type", "volume",
}  # fmt: skip


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
    filters = qfilters(request)
    unknown = set(filters) - _FILTER_KEYS
    if unknown:
        raise InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
    since, until = _qtime_ns(request, "since"), _qtime_ns(request, "until")
    now = time.time_ns()
    if since and until and since > until:
        raise InvalidParameter("`since` time must be before `until` time")
    bus = request.app[EVENTS]
    # Listen and take the backlog in one step (no await between): no event is sent twice.
    listener = bus.listen(filters) if not until or until > now else None
    backlog = bus.past(since, until, filters) if since else []
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
