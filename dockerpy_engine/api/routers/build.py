"""/build/prune: there is no builder yet, so no build cache to prune (see diskusage)."""

from __future__ import annotations

from aiohttp import web

from ...diskusage import build_prune
from .._params import json_response, qfilters


async def post_build_prune(request: web.Request) -> web.Response:
    """POST /build/prune: the filters are checked as dockerd does; nothing is reclaimed."""
    return json_response(build_prune(qfilters(request)))


ROUTES = [
    web.post("/build/prune", post_build_prune),
]
