"""Container filesystem endpoints: archive (docker cp), changes (diff), export, and commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ...containers.archive import stat_header
from ...containers.commit import CommitOptions
from ...containers.files import ContainerFiles
from ...errdefs import InvalidParameter
from .._params import json_body, json_response, qbool
from .._streams import send_stream
from ..keys import FILES

TAR = "application/x-tar"
STAT_HEADER = "X-Docker-Container-Path-Stat"


def _files(request: web.Request) -> ContainerFiles:
    return request.app[FILES]


def _archive_path(request: web.Request) -> str:
    """httputils.ArchiveFormValues, its wording included (no space before "cannot"). A NUL
    can name no file (the kernel refuses it): said here, before a path call raises on it."""
    path = request.query.get("path", "")
    if not path:
        raise InvalidParameter("bad parameter: pathcannot be empty")
    if "\0" in path:
        raise InvalidParameter(f"bad parameter: path {path!r} contains a NUL byte")
    return path


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(1 << 20):
        yield chunk


async def head_container_archive(request: web.Request) -> web.Response:
    """HEAD /containers/{name}/archive: only the stat header (the CLI stats a `cp`
    destination first to decide between copying into it and copying as it)."""
    path = _archive_path(request)
    stat = await _files(request).stat_path(request.match_info["name"], path)
    return web.Response(status=200, headers={STAT_HEADER: stat_header(stat)})


async def get_container_archive(request: web.Request) -> web.StreamResponse:
    """GET /containers/{name}/archive: a tar of the path, its stat in a header."""
    path = _archive_path(request)
    async with _files(request).archive_path(request.match_info["name"], path) as archive:
        response = web.StreamResponse(status=200)
        response.content_type = TAR
        response.headers[STAT_HEADER] = archive.stat_header
        return await send_stream(request, response, archive.chunks)


async def put_container_archive(request: web.Request) -> web.Response:
    """PUT /containers/{name}/archive: extract the body's tar into the directory `path`."""
    path = _archive_path(request)
    await _files(request).extract_to_dir(
        request.match_info["name"],
        path,
        _body_chunks(request),
        no_overwrite_dir_non_dir=qbool(request, "noOverwriteDirNonDir"),
        copy_uid_gid=qbool(request, "copyUIDGID"),
    )
    return web.Response(status=200)


async def get_container_changes(request: web.Request) -> web.Response:
    """GET /containers/{name}/changes: null when nothing changed, as dockerd's nil slice."""
    return json_response(await _files(request).changes(request.match_info["name"]))


async def get_container_export(request: web.Request) -> web.StreamResponse:
    async with _files(request).export(request.match_info["name"]) as chunks:
        response = web.StreamResponse(status=200)
        response.content_type = TAR
        return await send_stream(request, response, chunks)


async def post_commit(request: web.Request) -> web.Response:
    """POST /commit. `pause` absent or empty means true (API >= 1.13); the body is a Config
    whose absence (or `null`, which the docker CLI sends) means the container's own."""
    raw_pause = request.query.get("pause", "")
    body = await json_body(request, required=False)
    if body is not None and not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: the commit body must be a container config")
    config = None
    if body is not None:
        config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    opts = CommitOptions(
        container=request.query.get("container", ""),
        repo=request.query.get("repo", ""),
        tag=request.query.get("tag", ""),
        comment=request.query.get("comment", ""),
        author=request.query.get("author", ""),
        pause=True if raw_pause == "" else qbool(request, "pause"),
        changes=tuple(request.query.getall("changes", [])),
        config=config,
    )
    image_id = await _files(request).commit(opts)
    return json_response({"Id": image_id}, status=201)


ROUTES = [
    web.head("/containers/{name}/archive", head_container_archive),
    web.get("/containers/{name}/archive", get_container_archive, allow_head=False),
    web.put("/containers/{name}/archive", put_container_archive),
    web.get("/containers/{name}/changes", get_container_changes),
    web.get("/containers/{name}/export", get_container_export),
    web.post("/commit", post_commit),
]
