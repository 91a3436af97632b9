"""Container endpoints: parse the request, make one service call, serialise the answer."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from ...containers.detach import DEFAULT_DETACH_KEYS, parse_detach_keys
from ...containers.logs import parse_time
from ...containers.service import ContainerService
from ...containers.types import AttachOptions, CreateOptions, ListOptions, LogsOptions, StopOptions
from ...errdefs import EngineError, InvalidParameter
from ...gofmt import go_quote
from ...networks.types import PREDEFINED
from ...version import api_less_than
from .._params import (
    CONSOLE_BOUNDS,
    Struct,
    json_body,
    json_response,
    qbool,
    qfilters,
    qint,
    typed_fields,
)
from .._streams import Hijacked, stdcopy_frame, stream_type
from ..keys import CONTAINERS, EXECS
from ..middleware import API_VERSION_KEY
from .create_compat import adapt_create
from .networks import ENDPOINT_SETTINGS

STREAMS = {"stdout": 1, "stderr": 2}

# The JSON types of dockerd's container.Config and container.HostConfig (the swagger's
# ContainerConfig and HostConfig, in Go's words), for typed_fields: create and update refuse a
# wrong type with the decoder's 400 before the validation below trusts any value's type.
_STR = "string"
_STRS = "[]string"
_I64 = "int64"
_THROTTLE = Struct("ThrottleDevice", {"Path": _STR, "Rate": "uint64"}, shape="[]")
CONTAINER_CONFIG: dict[str, str | Struct] = {
    **dict.fromkeys(("Hostname", "Domainname", "User", "Image", "WorkingDir"), _STR),
    **dict.fromkeys(("MacAddress", "StopSignal"), _STR),
    **dict.fromkeys(("AttachStdin", "AttachStdout", "AttachStderr", "Tty"), "bool"),
    **dict.fromkeys(("OpenStdin", "StdinOnce", "ArgsEscaped", "NetworkDisabled"), "bool"),
    **dict.fromkeys(("Cmd", "Entrypoint", "Shell"), "strslice.StrSlice"),
    **dict.fromkeys(("Env", "OnBuild"), _STRS),
    **dict.fromkeys(("ExposedPorts", "Volumes"), "map[string]struct {}"),
    "Labels": "map[string]string",
    "StopTimeout": "int",
    "Healthcheck": Struct(
        "HealthConfig",
        {
            "Test": _STRS,
            **dict.fromkeys(("Interval", "Timeout", "StartPeriod", "StartInterval"), _I64),
            "Retries": "int",
        },
    ),
}
HOST_CONFIG: dict[str, str | Struct] = {
    # Resources (also the body of an update)
    **dict.fromkeys(("CpuShares", "Memory", "CpuPeriod", "CpuQuota", "NanoCpus"), _I64),
    **dict.fromkeys(("CpuRealtimePeriod", "CpuRealtimeRuntime", "KernelMemoryTCP"), _I64),
    **dict.fromkeys(("MemoryReservation", "MemorySwap", "MemorySwappiness", "PidsLimit"), _I64),
    **dict.fromkeys(("CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth"), _I64),
    **dict.fromkeys(("CgroupParent", "CpusetCpus", "CpusetMems"), _STR),
    "BlkioWeight": "uint16",
    "BlkioWeightDevice": Struct("WeightDevice", {"Path": _STR, "Weight": "uint16"}, shape="[]"),
    "BlkioDeviceReadBps": _THROTTLE,
    "BlkioDeviceWriteBps": _THROTTLE,
    "BlkioDeviceReadIOps": _THROTTLE,
    "BlkioDeviceWriteIOps": _THROTTLE,
    "Devices": Struct(
        "DeviceMapping",
        dict.fromkeys(("PathOnHost", "PathInContainer", "CgroupPermissions"), _STR),
        shape="[]",
    ),
    "DeviceCgroupRules": _STRS,
    "DeviceRequests": Struct(
        "DeviceRequest",
        {"Driver": _STR, "Count": "int", "DeviceIDs": _STRS, "Options": "map[string]string"},
        shape="[]",
    ),
    "OomKillDisable": "bool",
    "Ulimits": Struct("Ulimit", {"Name": _STR, "Soft": _I64, "Hard": _I64}, shape="[]"),
    # the rest of HostConfig
    **dict.fromkeys(("Binds", "VolumesFrom", "Dns", "DnsOptions", "DnsSearch"), _STRS),
    **dict.fromkeys(("ExtraHosts", "GroupAdd", "Links", "SecurityOpt"), _STRS),
    **dict.fromkeys(("MaskedPaths", "ReadonlyPaths"), _STRS),
    **dict.fromkeys(("CapAdd", "CapDrop"), "strslice.StrSlice"),
    **dict.fromkeys(("ContainerIDFile", "NetworkMode", "VolumeDriver", "CgroupnsMode"), _STR),
    **dict.fromkeys(("IpcMode", "Cgroup", "PidMode", "UTSMode", "UsernsMode"), _STR),
    **dict.fromkeys(("Runtime", "Isolation"), _STR),
    **dict.fromkeys(("AutoRemove", "Privileged", "PublishAllPorts", "ReadonlyRootfs"), "bool"),
    "Init": "bool",
    "OomScoreAdj": "int",
    "ShmSize": _I64,
    "ConsoleSize": "[2]uint",
    **dict.fromkeys(("Annotations", "StorageOpt", "Tmpfs", "Sysctls"), "map[string]string"),
    "LogConfig": Struct("LogConfig", {"Type": _STR, "Config": "map[string]string"}),
    "RestartPolicy": Struct("RestartPolicy", {"Name": _STR, "MaximumRetryCount": "int"}),
    "PortBindings": "object",
    "Mounts": Struct(
        "Mount",
        {
            **dict.fromkeys(("Type", "Source", "Target", "Consistency"), _STR),
            "ReadOnly": "bool",
            "BindOptions": "object",
            "VolumeOptions": "object",
            "ImageOptions": "object",
            "TmpfsOptions": "object",
        },
        shape="[]",
    ),
}
_CREATE_REQUEST: dict[str, str | Struct] = {
    "HostConfig": Struct("HostConfig", HOST_CONFIG),
    "NetworkingConfig": Struct(
        "NetworkingConfig",
        {"EndpointsConfig": Struct("EndpointSettings", ENDPOINT_SETTINGS.fields, "map[string]")},
    ),
}


def _svc(request: web.Request) -> ContainerService:
    return request.app[CONTAINERS]


async def post_containers_create(request: web.Request) -> web.Response:
    """POST /containers/create. A 404 here must mean only "no such image": the CLI pulls on it."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidParameter("config cannot be empty in order to create a container")
    typed_fields(body, "Config", CONTAINER_CONFIG)
    typed_fields(body, "CreateRequest", _CREATE_REQUEST)
    config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    version = request[API_VERSION_KEY]
    opts = CreateOptions(
        name=request.query.get("name", ""),
        config=config,
        host_config=body.get("HostConfig") or {},
        networking_config=body.get("NetworkingConfig") or {},
        platform="" if api_less_than(version, "1.41") else request.query.get("platform", ""),
    )
    moved = adapt_create(version, opts.config, opts.host_config, opts.networking_config)
    container_id, warnings = await _svc(request).create(opts)
    return json_response({"Id": container_id, "Warnings": [*warnings, *moved]}, status=201)


async def get_containers_json(request: web.Request) -> web.Response:
    opts = ListOptions(
        all=qbool(request, "all"),
        limit=qint(request, "limit", -1) or -1,
        size=qbool(request, "size"),
        filters=qfilters(request),
    )
    return json_response(await _svc(request).list(opts))


async def get_container_json(request: web.Request) -> web.Response:
    data = _svc(request).inspect(request.match_info["name"])
    data["ExecIDs"] = request.app[EXECS].ids_of(data["Id"]) or None
    if api_less_than(request[API_VERSION_KEY], "1.45"):
        _alias_id_and_hostname(data)
    return json_response(data)


def _alias_id_and_hostname(data: dict) -> None:
    """Before API 1.45, dockerd lists the short ID and the hostname among the aliases on each
    user-defined network (compose 1.x looks for the ID there before it reconnects a
    container to give it its aliases)."""
    extra = [data["Id"][:12], data["Config"].get("Hostname") or ""]
    for name, ep in (data["NetworkSettings"]["Networks"] or {}).items():
        if name not in (*PREDEFINED, "default") and not name.startswith("container:"):
            ep["Aliases"] = list(dict.fromkeys([*(ep["Aliases"] or []), *extra]))


async def post_container_start(request: web.Request) -> web.Response:
    """A body is refused as dockerd does (a JSON object is at least 7 bytes; an empty `{}`
    or `null` from an old client passes): start-time HostConfig went away in API 1.24."""
    length = request.content_length
    if (length is not None and length > 7) or request.headers.get("Transfer-Encoding"):
        raise InvalidParameter(
            "starting container with non-empty request body was deprecated since API v1.22 "
            "and removed in v1.24"
        )
    await _svc(request).start(request.match_info["name"])
    return web.Response(status=204)


def _stop_options(request: web.Request) -> StopOptions:
    """`signal` came with API 1.42; older clients get the container's stop signal."""
    signal = None
    if not api_less_than(request[API_VERSION_KEY], "1.42"):
        signal = request.query.get("signal") or None
    return StopOptions(timeout=qint(request, "t"), signal=signal)


async def post_container_stop(request: web.Request) -> web.Response:
    """Already stopped: NotModified, so 304 as dockerd does."""
    await _svc(request).stop(request.match_info["name"], _stop_options(request))
    return web.Response(status=204)


async def post_container_restart(request: web.Request) -> web.Response:
    await _svc(request).restart(request.match_info["name"], _stop_options(request))
    return web.Response(status=204)


async def post_container_kill(request: web.Request) -> web.Response:
    await _svc(request).kill(request.match_info["name"], request.query.get("signal"))
    return web.Response(status=204)


async def delete_container(request: web.Request) -> web.Response:
    await _svc(request).remove(
        request.match_info["name"], force=qbool(request, "force"), volumes=qbool(request, "v")
    )
    return web.Response(status=204)


async def post_container_update(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidParameter("invalid update body")
    typed_fields(body, "UpdateConfig", HOST_CONFIG)
    version = request[API_VERSION_KEY]
    if api_less_than(version, "1.40"):
        body.pop("PidsLimit", None)  # not updatable before 1.40
    elif not api_less_than(version, "1.42") and "KernelMemory" in body:
        body["KernelMemory"] = 0  # removed in 1.42
    warnings = await _svc(request).update(request.match_info["name"], body)
    return json_response({"Warnings": warnings})


async def post_container_pause(request: web.Request) -> web.Response:
    await _svc(request).pause(request.match_info["name"])
    return web.Response(status=204)


async def post_container_unpause(request: web.Request) -> web.Response:
    await _svc(request).unpause(request.match_info["name"])
    return web.Response(status=204)


async def post_container_rename(request: web.Request) -> web.Response:
    await _svc(request).rename(request.match_info["name"], request.query.get("name", ""))
    return web.Response(status=204)


async def post_containers_prune(request: web.Request) -> web.Response:
    deleted, reclaimed = await _svc(request).prune(qfilters(request))
    return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})


async def post_container_wait(request: web.Request) -> web.StreamResponse:
    """POST /containers/{id}/wait. Headers go out before the exit: `docker run` waits for them
    before it starts the container, and only then reads the body."""
    condition = request.query.get("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise InvalidParameter(f"invalid condition: {go_quote(condition)}")
    waiter = await _svc(request).wait(request.match_info["name"], condition)
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    await response.prepare(request)
    code = await waiter()
    await response.write(orjson.dumps({"StatusCode": code, "Error": None}) + b"\n")
    await response.write_eof()
    return response


async def post_container_resize(request: web.Request) -> web.Response:
    height = qint(request, "h", 0, bounds=CONSOLE_BOUNDS) or 0
    width = qint(request, "w", 0, bounds=CONSOLE_BOUNDS) or 0
    await _svc(request).resize(request.match_info["name"], height, width)
    return web.Response(status=200)


def _logs_options(request: web.Request) -> LogsOptions:
    opts = LogsOptions(
        stdout=qbool(request, "stdout"),
        stderr=qbool(request, "stderr"),
        follow=qbool(request, "follow"),
        since=_qtime(request, "since"),
        until=_qtime(request, "until"),
        timestamps=qbool(request, "timestamps"),
        tail=_qtail(request),
    )
    if not (opts.stdout or opts.stderr):
        raise InvalidParameter("Bad parameters: you must choose at least one stream")
    return opts


def _qtime(request: web.Request, name: str) -> float:
    """since/until: UNIX seconds with optional fraction (the CLI converts durations itself)."""
    raw = request.query.get(name, "")
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        try:
            return parse_time(raw)
        except ValueError:
            raise InvalidParameter(f"invalid value for {name}: {raw}") from None


def _qtail(request: web.Request) -> int | None:
    raw = request.query.get("tail", "all")
    if raw in ("", "all"):
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"invalid value for tail: {raw}") from None


async def get_container_logs(request: web.Request) -> web.StreamResponse:
    """GET /containers/{id}/logs: arguments are checked before the first byte (a late error can
    only end the stream); without a TTY every entry is a stdcopy frame."""
    opts = _logs_options(request)
    tty, entries = _svc(request).logs(request.match_info["name"], opts)
    response = web.StreamResponse(status=200)
    response.content_type = stream_type(tty, request[API_VERSION_KEY])
    await response.prepare(request)
    batch: list[bytes] = []
    async for entry in entries:
        data = entry.data
        if opts.timestamps:
            data = entry.time.encode() + b" " + data
        batch.append(data if tty else stdcopy_frame(STREAMS[entry.stream], data))
        if len(batch) >= 256 or opts.follow:
            await response.write(b"".join(batch))
            batch.clear()
    if batch:
        await response.write(b"".join(batch))
    await response.write_eof()
    return response


async def post_container_attach(request: web.Request) -> web.StreamResponse:
    """POST /containers/{id}/attach: hijack the connection, then stream raw or stdcopy frames.

    The docker CLI attaches before it starts the container, so output subscription happens
    here, before the 101 goes out, and nothing of the run can be missed.
    """
    opts = AttachOptions(
        stream=qbool(request, "stream"),
        logs=qbool(request, "logs"),
        stdin=qbool(request, "stdin"),
        stdout=qbool(request, "stdout"),
        stderr=qbool(request, "stderr"),
    )
    svc = _svc(request)
    parse_detach_keys(request.query.get("detachKeys") or DEFAULT_DETACH_KEYS)  # 400 before 101
    container, sub = svc.attach(request.match_info["name"], opts)
    tty = container.tty
    conn = await Hijacked.upgrade(request, stream_type(tty, request[API_VERSION_KEY]))
    stdin_task = None
    if opts.stdin and container.config.get("OpenStdin"):
        detach_keys = request.query.get("detachKeys") or ""

        async def feed() -> None:
            if await svc.feed_stdin(container, _client_input(conn), detach_keys) and sub:
                sub.queue.put_nowait(None)  # detached: end this client's stream only

        stdin_task = asyncio.create_task(feed())
    try:
        if opts.logs:
            log_opts = LogsOptions(stdout=opts.stdout, stderr=opts.stderr)
            try:
                _, entries = svc.logs(container.id, log_opts)
            except EngineError as exc:  # past the 101: in-band, as dockerd's attach
                await conn.write(f"Error attaching: {exc.message}\n".encode())
                return conn.response
            async for entry in entries:
                frame = entry.data if tty else stdcopy_frame(STREAMS[entry.stream], entry.data)
                await conn.write(frame)
        while sub is not None:
            chunk = await sub.queue.get()
            if chunk is None:
                break
            stream_id, data = chunk
            await conn.write(data if tty else stdcopy_frame(stream_id, data))
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        if sub is not None:
            svc.detach(container, sub)
        if stdin_task is not None:
            stdin_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stdin_task
        conn.close()
    return conn.response


async def _client_input(conn: Hijacked):
    while True:
        chunk = await conn.read()
        yield chunk
        if chunk is None:
            return


ROUTES = [
    web.post("/containers/create", post_containers_create),
    web.post("/containers/prune", post_containers_prune),
    web.get("/containers/json", get_containers_json),
    web.get("/containers/{name}/json", get_container_json),
    web.get("/containers/{name}/logs", get_container_logs),
    web.post("/containers/{name}/start", post_container_start),
    web.post("/containers/{name}/stop", post_container_stop),
    web.post("/containers/{name}/restart", post_container_restart),
    web.post("/containers/{name}/kill", post_container_kill),
    web.post("/containers/{name}/wait", post_container_wait),
    web.post("/containers/{name}/update", post_container_update),
    web.post("/containers/{name}/pause", post_container_pause),
    web.post("/containers/{name}/unpause", post_container_unpause),
    web.post("/containers/{name}/rename", post_container_rename),
    web.post("/containers/{name}/attach", post_container_attach),
    web.post("/containers/{name}/resize", post_container_resize),
    web.delete("/containers/{name}", delete_container),
]
