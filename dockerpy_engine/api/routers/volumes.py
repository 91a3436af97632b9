"""Volume endpoints: create, inspect, list, remove, prune (dockerd's api/server/router/volume)."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from ...errdefs import InvalidParameter
from ...version import api_less_than
from ...volumes import VolumeCreateOptions, VolumePruneReport
from .._params import json_body, json_response, qbool, qfilters
from ..keys import VOLUMES
from ..middleware import API_VERSION_KEY


class VolumeBackend(Protocol):
    """What the volume routes need from the volume service."""

    async def create(self, opts: VolumeCreateOptions) -> dict[str, Any]: ...

    def inspect(self, name: str) -> dict[str, Any]: ...

    def list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]: ...

    async def remove(self, name: str, force: bool = False) -> None: ...

    async def prune(self, filters: dict[str, list[str]]) -> VolumePruneReport: ...


def _svc(request: web.Request) -> VolumeBackend:
    return request.app[VOLUMES]


def _string_map(body: dict[str, Any], key: str) -> dict[str, str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidParameter(f"invalid JSON: {key} must be an object of strings")
    return value


async def get_volumes(request: web.Request) -> web.Response:
    """GET /volumes: `Warnings` is null, as dockerd's local-only listing sends it."""
    volumes = _svc(request).list(qfilters(request))
    return json_response({"Volumes": volumes, "Warnings": None})


async def post_volumes_create(request: web.Request) -> web.Response:
    """POST /volumes/create: 201 with the volume (an existing one of that name as it is)."""
    body = await json_body(request, required=False) or {}
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    name = body.get("Name") or ""
    if not isinstance(name, str):
        raise InvalidParameter("invalid JSON: Name must be a string")
    opts = VolumeCreateOptions(
        name=name,
        driver=body.get("Driver") or "local",
        driver_opts=_string_map(body, "DriverOpts") or {},
        labels=_string_map(body, "Labels"),
    )
    return json_response(await _svc(request).create(opts), status=201)


async def get_volume(request: web.Request) -> web.Response:
    return json_response(_svc(request).inspect(request.match_info["name"]))


async def delete_volume(request: web.Request) -> web.Response:
    """DELETE /volumes/{name}: 409 while a container refers to it; `force` ignores a 404."""
    await _svc(request).remove(request.match_info["name"], force=qbool(request, "force"))
    return web.Response(status=204)


async def post_volumes_prune(request: web.Request) -> web.Response:
    """POST /volumes/prune. API 1.42 made prune take anonymous volumes only (named ones with
    the `all` filter); older clients keep the old meaning, so `all=true` is implied for them."""
    filters = qfilters(request)
    if api_less_than(request[API_VERSION_KEY], "1.42"):
        if "all" in filters:
            raise InvalidParameter("invalid filter 'all'")
        filters["all"] = ["true"]
    report = await _svc(request).prune(filters)
    return json_response(
        {"VolumesDeleted": report.deleted or None, "SpaceReclaimed": report.reclaimed}
    )


ROUTES = [
    web.get("/volumes", get_volumes),
    web.get("/volumes/{name}", get_volume),
    web.post("/volumes/create", post_volumes_create),
    web.post("/volumes/prune", post_volumes_prune),
    web.delete("/volumes/{name}", delete_volume),
]
