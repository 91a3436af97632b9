"""Network endpoints: parse the request, make one service call, serialise the answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ...errdefs import InvalidParameter
from ...networks import NetworkService
from .._params import Struct, json_body, json_response, qfilters, typed_fields
from ..keys import CONTAINERS, NETWORKS

# The JSON types of dockerd's network structs (swagger NetworkCreateRequest, EndpointSettings,
# NetworkConnectRequest), for typed_fields: a wrong type is the decoder's 400, not a crash below.
_STR, _STRS, _MAP = "string", "[]string", "map[string]string"
ENDPOINT_SETTINGS = Struct(
    "EndpointSettings",
    {
        "IPAMConfig": Struct(
            "EndpointIPAMConfig",
            {"IPv4Address": _STR, "IPv6Address": _STR, "LinkLocalIPs": _STRS},
        ),
        **dict.fromkeys(("Links", "Aliases", "DNSNames"), _STRS),
        **dict.fromkeys(("MacAddress", "NetworkID", "EndpointID", "Gateway", "IPAddress"), _STR),
        **dict.fromkeys(("IPv6Gateway", "GlobalIPv6Address"), _STR),
        **dict.fromkeys(("IPPrefixLen", "GlobalIPv6PrefixLen", "GwPriority"), "int"),
        "DriverOpts": _MAP,
    },
)
_NETWORK_CREATE = {
    **dict.fromkeys(("Name", "Driver", "Scope"), _STR),
    **dict.fromkeys(("CheckDuplicate", "Internal", "Attachable", "Ingress", "ConfigOnly"), "bool"),
    **dict.fromkeys(("EnableIPv4", "EnableIPv6"), "bool"),
    "ConfigFrom": Struct("ConfigReference", {"Network": _STR}),
    "IPAM": Struct(
        "IPAM",
        {
            "Driver": _STR,
            "Config": Struct(
                "IPAMConfig",
                {
                    **dict.fromkeys(("Subnet", "IPRange", "Gateway"), _STR),
                    "AuxiliaryAddresses": _MAP,
                },
                shape="[]",
            ),
            "Options": _MAP,
        },
    ),
    **dict.fromkeys(("Options", "Labels"), _MAP),
}
_NETWORK_CONNECT = {"Container": _STR, "EndpointConfig": ENDPOINT_SETTINGS, "Force": "bool"}


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
    typed_fields(body, "CreateRequest", _NETWORK_CREATE)
    return json_response(await _svc(request).create(body), status=201)


async def delete_network(request: web.Request) -> web.Response:
    await _svc(request).remove(request.match_info["id"])
    return web.Response(status=204)


async def post_networks_prune(request: web.Request) -> web.Response:
    removed = await _svc(request).prune(qfilters(request))
    return json_response({"NetworksDeleted": removed})


async def _connect_body(request: web.Request) -> dict[str, Any]:
    """The body of connect and disconnect: an object naming the container."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidParameter("container name or ID is required")
    typed_fields(body, "NetworkConnectRequest", _NETWORK_CONNECT)
    if not body.get("Container"):
        raise InvalidParameter("container name or ID is required")
    return body


async def post_network_connect(request: web.Request) -> web.Response:
    body = await _connect_body(request)
    containers = request.app[CONTAINERS]
    c = containers.get(str(body["Container"]))
    config = body.get("EndpointConfig") or {}
    await _svc(request).connect(c, request.match_info["id"], config, containers.running_pid(c.id))
    return web.Response(status=200)


async def post_network_disconnect(request: web.Request) -> web.Response:
    body = await _connect_body(request)
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
