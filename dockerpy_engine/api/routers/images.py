"""Image endpoints: import, load, list, inspect, tag, remove."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from aiohttp import web

from ...errdefs import InvalidParameter, Unimplemented
from .._params import json_response, qbool, qfilters
from ..keys import CONTAINERS, IMAGES


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The request body as it arrives: an image tar is never held whole in memory."""
    async for chunk in request.content.iter_chunked(1 << 20):
        yield chunk


async def _progress_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    await response.prepare(request)
    return response


async def post_images_create(request: web.Request) -> web.StreamResponse:
    """POST /images/create: `fromSrc=-` imports the body (docker import); pulls come later."""
    if request.query.get("fromSrc") != "-":
        if request.query.get("fromSrc"):
            raise InvalidParameter("importing from a URL is not supported; send the tar as body")
        raise Unimplemented("pulling images from a registry is not supported by this daemon yet")
    repo = request.query.get("repo", "")
    tag = request.query.get("tag", "")
    repo_tag = f"{repo}:{tag}" if repo and tag else repo or None
    image = await request.app[IMAGES].import_image(
        _body_chunks(request),
        repo_tag=repo_tag,
        changes=request.query.getall("changes", []),
        message=request.query.get("message", ""),
        platform=request.query.get("platform") or None,
    )
    response = await _progress_stream(request)
    await response.write(orjson.dumps({"status": image.id}) + b"\r\n")
    await response.write_eof()
    return response


async def post_images_load(request: web.Request) -> web.StreamResponse:
    """POST /images/load: messages as dockerd's ("Loaded image: …") in a JSON stream."""
    quiet = qbool(request, "quiet")
    messages = await request.app[IMAGES].load_archive(_body_chunks(request), None)
    response = await _progress_stream(request)
    for message in messages:
        await response.write(orjson.dumps({"stream": message + "\n"}) + b"\r\n")
    del quiet  # progress bars are only drawn when not quiet, and load draws none yet
    await response.write_eof()
    return response


async def get_images_json(request: web.Request) -> web.Response:
    store = request.app[IMAGES]
    return json_response([store.to_api_summary(i) for i in store.list(qfilters(request))])


async def get_image_json(request: web.Request) -> web.Response:
    store = request.app[IMAGES]
    return json_response(store.to_api_inspect(store.get(request.match_info["name"])))


async def post_image_tag(request: web.Request) -> web.Response:
    repo = request.query.get("repo", "")
    if not repo:
        raise InvalidParameter("repository name must have at least one component")
    await request.app[IMAGES].tag(request.match_info["name"], repo, request.query.get("tag", ""))
    return web.Response(status=201)


async def delete_image(request: web.Request) -> web.Response:
    result = await request.app[IMAGES].delete(
        request.match_info["name"],
        force=qbool(request, "force"),
        prune=not qbool(request, "noprune"),
        in_use=request.app[CONTAINERS].image_in_use,
    )
    return json_response(result)


ROUTES = [
    web.post("/images/create", post_images_create),
    web.post("/images/load", post_images_load),
    web.get("/images/json", get_images_json),
    web.get("/images/{name:.+}/json", get_image_json),
    web.post("/images/{name:.+}/tag", post_image_tag),
    web.delete("/images/{name:.+}", delete_image),
]
