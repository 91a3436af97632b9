"""Observation endpoints: GET /containers/{id}/top and GET /containers/{id}/stats."""

from __future__ import annotations

import contextlib

import orjson
from aiohttp import web

from ...containers import stats, top
from ...errdefs import InvalidParameter
from ...version import api_less_than
from .._params import json_response, qbool
from ..keys import CONTAINERS
from ..middleware import API_VERSION_KEY


async def get_container_top(request: web.Request) -> web.Response:
    """ps_args defaults to `-ef`; 409 when the container is not running, 400 when ps refuses
    the client's ps_args."""
    result = await top.container_top(
        request.app[CONTAINERS], request.match_info["name"], request.query.get("ps_args", "")
    )
    return json_response(result.to_api())


def _stats_options(request: web.Request) -> stats.StatsOptions:
    """`stream` defaults to true; `one-shot` exists from API 1.41 and only without a stream."""
    stream = qbool(request, "stream", default=True)
    one_shot = False
    if not api_less_than(request[API_VERSION_KEY], "1.41"):
        one_shot = qbool(request, "one-shot")
    if stream and one_shot:
        raise InvalidParameter("cannot have stream=true and one-shot=true")
    return stats.StatsOptions(stream=stream, one_shot=one_shot)


async def get_container_stats(request: web.Request) -> web.StreamResponse:
    """GET /containers/{id}/stats: one JSON document, or one per line each second.

    The container is resolved before the headers go out, so a 404 stays a 404. A stream sends
    its headers at once, as dockerd flushes them before the first sample: the docker CLI's
    `docker stats` waits on the response before it draws the table. After that an error can
    only end the stream.
    """
    opts = _stats_options(request)
    svc = request.app[CONTAINERS]
    container = svc.get(request.match_info["name"])
    samples = stats.samples(svc, container, opts)
    if not opts.stream:
        async with contextlib.aclosing(samples):
            sample = await anext(samples, None)
        if sample is None:  # removed meanwhile, or shutdown: dockerd's body is empty then
            return web.Response(status=200, content_type="application/json")
        return json_response(sample)
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    await response.prepare(request)
    async with contextlib.aclosing(samples):
        async for sample in samples:
            await response.write(orjson.dumps(sample) + b"\n")
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


ROUTES = [
    web.get("/containers/{name}/top", get_container_top),
    web.get("/containers/{name}/stats", get_container_stats),
]
