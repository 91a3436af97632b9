"""Exec endpoints: create in a container, start (detached or hijacked), inspect, resize."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from ...containers.exec import ExecOptions, ExecService, ExecStreams
from ...errdefs import EngineError, InvalidParameter
from .._params import CONSOLE_BOUNDS, json_body, json_response, qint, typed_fields
from .._streams import Hijacked, stdcopy_frame, stream_type
from ..keys import EXECS
from ..middleware import API_VERSION_KEY

# the JSON types of the bodies dockerd decodes into its ExecConfig and ExecStartCheck structs
_EXEC_CONFIG = {
    "Cmd": "strslice.StrSlice",
    "AttachStdin": "bool",
    "AttachStdout": "bool",
    "AttachStderr": "bool",
    "Tty": "bool",
    "Env": "[]string",
    "User": "string",
    "WorkingDir": "string",
    "Privileged": "bool",
    "DetachKeys": "string",
    "ConsoleSize": "[2]uint",
}
_EXEC_START = {"Detach": "bool", "Tty": "bool", "ConsoleSize": "[2]uint"}


def _svc(request: web.Request) -> ExecService:
    return request.app[EXECS]


def _console_size(body: dict) -> tuple[int, int] | None:
    """`ConsoleSize` [height, width] within a winsize, or None when absent or zero."""
    size = body.get("ConsoleSize")
    if not size:
        return None
    if any(n > CONSOLE_BOUNDS[1] for n in size):
        raise InvalidParameter(f"invalid ConsoleSize: {size}")
    return (size[0], size[1]) if size[0] and size[1] else None


async def post_container_exec(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidParameter("invalid exec config")
    typed_fields(body, "ExecConfig", _EXEC_CONFIG)
    _console_size(body)
    opts = ExecOptions(
        cmd=list(body.get("Cmd") or []),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout")),
        attach_stderr=bool(body.get("AttachStderr")),
        tty=bool(body.get("Tty")),
        env=list(body.get("Env") or []),
        user=body.get("User") or "",
        working_dir=body.get("WorkingDir") or "",
        privileged=bool(body.get("Privileged")),
        detach_keys=body.get("DetachKeys") or "",
    )
    exec_id = await _svc(request).create(request.match_info["name"], opts)
    return json_response({"Id": exec_id}, status=201)


async def post_exec_start(request: web.Request) -> web.StreamResponse:
    """POST /exec/{id}/start. Detached: start and answer 200. Attached: hijack first, then
    start; a process that cannot start has its error written into the stream (as dockerd),
    and the docker CLI reads the exit code (126/127) from exec inspect afterwards."""
    body = await json_body(request, required=False) or {}
    if not isinstance(body, dict):
        raise InvalidParameter("invalid exec start config")
    typed_fields(body, "ExecStartCheck", _EXEC_START)
    size = _console_size(body)
    svc = _svc(request)
    ex = svc.get(request.match_info["id"])
    if body.get("Detach"):
        await svc.start(ex.id, detach=True, console_size=size)
        return web.Response(status=200)
    tty = ex.opts.tty
    if ex.started:
        await svc.start(ex.id, detach=False)  # raises the 409 before any upgrade
    conn = await Hijacked.upgrade(request, stream_type(tty, request[API_VERSION_KEY]))
    try:
        streams = await svc.start(ex.id, detach=False, console_size=size)
    except EngineError as exc:
        message = (exc.message + "\r\n").encode()
        await conn.write(message if tty else stdcopy_frame(1, message))
        conn.close()
        return conn.response
    assert streams is not None
    await _pump(conn, streams, ex, svc)
    return conn.response


async def _pump(conn: Hijacked, streams: ExecStreams, ex, svc: ExecService) -> None:
    """Copy output out and the client's input in until the process ended and output drained."""
    tty = ex.opts.tty
    wanted = {1: ex.opts.attach_stdout or tty, 2: ex.opts.attach_stderr}

    async def copy_out(stream_id: int, reader) -> None:
        while chunk := await reader.read():
            if wanted[stream_id]:
                await conn.write(chunk if tty else stdcopy_frame(stream_id, chunk))

    async def copy_in() -> None:
        while (chunk := await conn.read()) is not None:
            await streams.stdin.write(chunk)
        streams.stdin.close()
        await svc.close_stdin(ex)

    stdin_task = asyncio.create_task(copy_in()) if streams.stdin is not None else None
    try:
        await asyncio.gather(*(copy_out(sid, reader) for sid, reader in streams.outputs))
        await streams.finished
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        if stdin_task is not None:
            stdin_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stdin_task
        for _, reader in streams.outputs:
            reader.close()
        conn.close()


async def get_exec_json(request: web.Request) -> web.Response:
    return json_response(_svc(request).get(request.match_info["id"]).to_api())


async def post_exec_resize(request: web.Request) -> web.Response:
    height = qint(request, "h", 0, bounds=CONSOLE_BOUNDS) or 0
    width = qint(request, "w", 0, bounds=CONSOLE_BOUNDS) or 0
    await _svc(request).resize(request.match_info["id"], height, width)
    return web.Response(status=200)


ROUTES = [
    web.post("/containers/{name}/exec", post_container_exec),
    web.post("/exec/{id}/start", post_exec_start),
    web.get("/exec/{id}/json", get_exec_json),
    web.post("/exec/{id}/resize", post_exec_resize),
]
