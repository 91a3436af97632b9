"""POST /build (the classic builder) and POST /build/prune."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from ...build.options import BuildOptions
from ...build.records import prune_cache
from ...distribution.manifests import parse_platform
from ...distribution.types import AuthConfig, decode_header_json
from ...errdefs import InvalidParameter
from .._params import json_response, qbool, qfilters, qint
from .._streams import progress_stream
from ..keys import BUILDER, CONTAINERS, IMAGES

# Query parameters that become the build containers' HostConfig resources.
_RESOURCES = {
    "memory": "Memory",
    "memswap": "MemorySwap",
    "cpushares": "CpuShares",
    "cpuperiod": "CpuPeriod",
    "cpuquota": "CpuQuota",
    "shmsize": "ShmSize",
}
_RESOURCE_TEXTS = {
    "cpusetcpus": "CpusetCpus",
    "cpusetmems": "CpusetMems",
    "cgroupparent": "CgroupParent",
}


def _json_param(request: web.Request, name: str, kind: type) -> Any:
    raw = request.query.get(name, "")
    if not raw:
        return kind()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameter(f"invalid {name} JSON: {raw}") from None
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise InvalidParameter(f"invalid {name} JSON: {raw}")
    return value


def _registry_config(header: str) -> dict[str, AuthConfig]:
    """X-Registry-Config: base64url JSON of {registry: auth config}; a bad one is ignored, as
    dockerd does (a build may not need credentials at all)."""
    if not header.strip():
        return {}
    try:
        data = decode_header_json(header)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    configs: dict[str, AuthConfig] = {}
    for registry, value in data.items():
        try:
            configs[str(registry)] = AuthConfig.from_api(value)
        except InvalidParameter:
            continue
    return configs


def build_options(request: web.Request) -> BuildOptions:
    """dockerd's newImageBuildOptions, with its refusals."""
    query = request.query
    if query.get("version", "1") == "2":
        raise InvalidParameter("buildkit is not supported by this daemon: use the classic builder")
    if qbool(request, "squash"):
        raise InvalidParameter("squash is only supported with experimental mode")
    build_args = _json_param(request, "buildargs", dict)
    labels = _json_param(request, "labels", dict)
    resources: dict[str, Any] = {}
    for param, field in _RESOURCES.items():
        value = qint(request, param)
        if value:
            resources[field] = value
    for param, field in _RESOURCE_TEXTS.items():
        if query.get(param):
            resources[field] = query[param]
    ulimits = _json_param(request, "ulimits", list)
    if ulimits:
        resources["Ulimits"] = ulimits
    extra_hosts = tuple(
        h for value in query.getall("extrahosts", []) for h in value.split(",") if h
    )
    return BuildOptions(
        tags=tuple(query.getall("t", [])),
        dockerfile=query.get("dockerfile") or "Dockerfile",
        remote=query.get("remote", ""),
        quiet=qbool(request, "q"),
        no_cache=qbool(request, "nocache"),
        remove=qbool(request, "rm", True),
        force_remove=qbool(request, "forcerm"),
        pull=qbool(request, "pull"),
        build_args={str(k): None if v is None else str(v) for k, v in build_args.items()},
        labels={str(k): str(v) for k, v in labels.items()},
        cache_from=tuple(str(v) for v in _json_param(request, "cachefrom", list)),
        target=query.get("target", ""),
        platform=parse_platform(query["platform"]) if query.get("platform") else None,
        network_mode=query.get("networkmode", ""),
        extra_hosts=extra_hosts,
        host_resources=resources,
        auth=_registry_config(request.headers.get("X-Registry-Config", "")),
    )


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(1 << 20):
        yield chunk


async def post_build(request: web.Request) -> web.StreamResponse:
    """POST /build: the context tar in, dockerd's classic build stream out."""
    options = build_options(request)
    builder = request.app[BUILDER]
    return await progress_stream(request, lambda p: builder.build(options, _body(request), p))


async def post_build_prune(request: web.Request) -> web.Response:
    """POST /build/prune: the classic builder's step images nothing is built on."""
    report = await prune_cache(
        request.app[IMAGES], qfilters(request), request.app[CONTAINERS].image_in_use
    )
    return json_response(report)


ROUTES = [
    web.post("/build", post_build),
    web.post("/build/prune", post_build_prune),
]
