"""/_ping, /version and /info."""

from __future__ import annotations

from aiohttp import web

from ...version import API_VERSION
from .._params import json_response
from ..keys import SYSTEM

_PING_HEADERS = {
    "API-Version": API_VERSION,
    "OSType": "linux",
    "Docker-Experimental": "false",
    "Builder-Version": "1",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
}


async def get_ping(request: web.Request) -> web.Response:
    """GET and HEAD /_ping: "OK"; the CLI reads API-Version from it to negotiate."""
    if request.method == "HEAD":
        return web.Response(headers={**_PING_HEADERS, "Content-Length": "0"})
    return web.Response(text="OK", headers=_PING_HEADERS)


async def get_version(request: web.Request) -> web.Response:
    return json_response(request.app[SYSTEM].version())


async def get_info(request: web.Request) -> web.Response:
    return json_response(request.app[SYSTEM].info())


ROUTES = [
    web.get("/_ping", get_ping),
    web.get("/version", get_version),
    web.get("/info", get_info),
]
