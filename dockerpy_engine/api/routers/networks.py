"""Network endpoints: parse the request, make one service call, serialise the answer."""

from __future__ import annotations

from aiohttp import web

from ...errdefs import InvalidParameter
from ...networks import NetworkService
from .._params import json_body, json_response, qfilters
from ..keys import CONTAINERS, NETWORKS


def _svc(request: web.Request) -> NetworkService:
    return request.app[NETWORKS]


async def get_networks(request: web.Request) -> web.Response:
    return json_response(_svc(request).list(qfilters(request)))


async def get_network(request: web.Request) -> web.Response:
    containers = request.app[CONTAINERS]

    def name_of(container_id: str) -> str:
        try:
            return containers.get(container_id).name.lstrip("/")
        except Exception:
            return ""

    return json_response(_svc(request).inspect(request.match_info["id"], name_of))


async def post_networks_create(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidParameter("invalid network config")
    return json_response(await _svc(request).create(body), status=201)


async def delete_network(request: web.Request) -> web.Response:
    await _svc(request).remove(request.match_info["id"])
    return web.Response(status=204)


async def post_networks_prune(request: web.Request) -> web.Response:
    removed = await _svc(request).prune(qfilters(request))
    return json_response({"NetworksDeleted": removed})


async def post_network_connect(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict) or not body.get("Container"):
        raise InvalidParameter("container name or ID is required")
    containers = request.app[CONTAINERS]
    c = containers.get(str(body["Container"]))
    config = body.get("EndpointConfig") or {}
    await _svc(request).connect(c, request.match_info["id"], config, containers.running_pid(c.id))
    return web.Response(status=200)


async def post_network_disconnect(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict) or not body.get("Container"):
        raise InvalidParameter("container name or ID is required")
    c = request.app[CONTAINERS].get(str(body["Container"]))
    await _svc(request).disconnect(c, request.match_info["id"], bool(body.get("Force")))
    return web.Response(status=200)


ROUTES = [
    web.get("/networks", get_networks),
    web.get("/networks/{id}", get_network),
    web.post("/networks/create", post_networks_create),
    web.post("/networks/prune", post_networks_prune),
    web.post("/networks/{id}/connect", post_network_connect),
    web.post("/networks/{id}/disconnect", post_network_disconnect),
    web.delete("/networks/{id}", delete_network),
]
