"""/_ping, /version and /info."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ...diskusage import disk_usage
from ...hostwarnings import host_info
from ...version import API_VERSION, api_less_than
from .._params import json_response
from ..keys import CONTAINERS, DISTRIBUTION, IMAGES, SYSTEM, VOLUMES
from ..middleware import API_VERSION_KEY

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
    info = request.app[SYSTEM].info()
    api_warnings = info["Warnings"] or []  # the daemon's own (a TCP API), after the host's
    info.update(await asyncio.to_thread(host_info, info["CgroupVersion"]))
    info["Warnings"] = [*(info["Warnings"] or []), *api_warnings] or None
    info["RegistryConfig"] = request.app[DISTRIBUTION].config.to_api()
    return json_response(info)


async def get_system_df(request: web.Request) -> web.Response:
    """GET /system/df; `type` (repeatable) picks the sections from API 1.42 on, and the
    images have VirtualSize (their Size) before 1.44."""
    version = request[API_VERSION_KEY]
    types = request.query.getall("type", [])
    if api_less_than(version, "1.42"):
        types = []
    usage = await disk_usage(
        request.app[CONTAINERS], request.app[IMAGES], request.app.get(VOLUMES), types
    )
    if api_less_than(version, "1.44"):
        for image in usage["Images"] or []:
            image["VirtualSize"] = image["Size"]
    return json_response(usage)


ROUTES = [
    web.get("/_ping", get_ping),
    web.get("/version", get_version),
    web.get("/info", get_info),
    web.get("/system/df", get_system_df),
]
