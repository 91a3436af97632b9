"""Image endpoints: import (of the body or a URL), load, list, inspect, tag, remove, save,
history, prune."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from aiohttp import web

from ...distribution import Progress
from ...distribution.progress import format_error
from ...errdefs import EngineError, InvalidParameter
from ...httpget import get_with_status_error
from ...images.history import image_history
from ...images.legacy_inspect import shape_for_version
from ...images.platforms import Platform, decode_platform
from ...images.prune import prune_images
from ...images.reference import repo_tag_reference
from ...images.save import save_archive
from ...version import api_less_than
from .._params import json_response, qbool, qfilters
from .._streams import progress_stream, send_stream
from ..keys import CONTAINERS, IMAGES
from ..middleware import API_VERSION_KEY
from .distribution import post_images_pull


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
    """POST /images/create: `fromImage` pulls (routers/distribution.py), `fromSrc=-` imports
    the body, any other `fromSrc` the tar at that URL (docker import)."""
    if request.query.get("fromImage"):
        return await post_images_pull(request)
    repo = request.query.get("repo", "")
    tag = request.query.get("tag", "")
    repo_tag = f"{repo}:{tag}" if repo and tag else repo or None
    if request.query.get("fromSrc", "") != "-":
        return await _import_url(request, repo, tag, repo_tag)
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


async def _import_url(
    request: web.Request, repo: str, tag: str, repo_tag: str | None
) -> web.StreamResponse:
    """docker import <url>, as dockerd's postImagesCreate: the name is checked first, a
    source without `://` is http (even an empty one), and a failed GET is an ordinary error
    answer. Then "Downloading from <url>", an "Importing" bar as the body streams into the
    layer (never whole in memory) and the image ID; what fails after the first line (a
    bad tar, bad `changes`) goes in-band, as dockerd writes it once its output is flushed.
    The comment names the source as the client gave it."""
    repo_tag_reference(repo, tag)
    src = request.query.get("fromSrc", "")
    url = src if "://" in src else f"http://{src}"
    store = request.app[IMAGES]

    async def work(progress: Progress) -> None:
        async with get_with_status_error(url) as response:
            await progress.message("", f"Downloading from {url}")
            size = response.content_length
            body = progress.reading(
                response.content.iter_any(), "", "Importing", -1 if size is None else size
            )
            image = await store.import_image(
                body,
                repo_tag=repo_tag,
                changes=request.query.getall("changes", []),
                message=request.query.get("message", "") or f"Imported from {src}",
                platform=request.query.get("platform") or None,
            )
        await progress.message("", image.id)

    return await progress_stream(request, work)


async def post_images_load(request: web.Request) -> web.StreamResponse:
    """POST /images/load: messages as dockerd's ("Loaded image: …") in a JSON stream.

    As dockerd's postImagesLoad, a refused archive is a 200 whose stream carries the error
    (docker-py raises its ImageLoadError from it; the docker CLI prints it and exits 1)."""
    try:
        messages = await request.app[IMAGES].load_archive(_body_chunks(request), None)
        failure = None
    except EngineError as exc:
        messages, failure = [], exc.message
    response = await _progress_stream(request)
    for message in messages:
        await response.write(orjson.dumps({"stream": message + "\n"}) + b"\r\n")
    if failure is not None:
        await response.write(format_error(failure))
    await response.write_eof()
    return response


async def get_images_json(request: web.Request) -> web.Response:
    """GET /images/json with dockerd's per-version shapes: the `filter` glob (< 1.41, a
    `reference` filter), `shared-size` (>= 1.42), `<none>` names (< 1.43), VirtualSize (< 1.44).
    `digests` needs nothing: RepoDigests are always sent and the CLI only shows them."""
    store = request.app[IMAGES]
    version = request[API_VERSION_KEY]
    filters = qfilters(request)
    if api_less_than(version, "1.41") and request.query.get("filter"):
        filters.setdefault("reference", []).append(request.query["filter"])
    images = store.list(filters, all=qbool(request, "all"))
    shared: dict[str, int] = {}
    if not api_less_than(version, "1.42") and qbool(request, "shared-size"):
        shared = store.shared_sizes(images)
    summaries = []
    for image in images:
        summary = store.to_api_summary(image, shared_size=shared.get(image.id, -1))
        if api_less_than(version, "1.43") and not image.repo_tags and not image.repo_digests:
            summary["RepoTags"], summary["RepoDigests"] = ["<none>:<none>"], ["<none>@<none>"]
        if api_less_than(version, "1.44"):
            summary["VirtualSize"] = summary["Size"]
        summaries.append(summary)
    return json_response(summaries)


async def get_image_json(request: web.Request) -> web.Response:
    store = request.app[IMAGES]
    image = store.get(request.match_info["name"])
    inspect = store.to_api_inspect(image)
    return json_response(shape_for_version(inspect, image, request[API_VERSION_KEY]))


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


def _platform(request: web.Request) -> Platform | None:
    """The `platform` parameter of save and history, which API 1.48 introduced."""
    if api_less_than(request[API_VERSION_KEY], "1.48"):
        return None
    return decode_platform(request.query.get("platform", ""))


async def get_images_get(request: web.Request) -> web.StreamResponse:
    """GET /images/get?names=a&names=b and GET /images/{name}/get (docker save).

    Every error (no such image, platform, unreadable layer) is raised before the first byte,
    as dockerd answers normally only while nothing was flushed; once the tar has started, a
    failure can only cut the connection and the client sees a truncated archive.
    """
    name = request.match_info.get("name")
    names = [name] if name is not None else request.query.getall("names", [])
    async with save_archive(request.app[IMAGES], names, _platform(request)) as chunks:
        response = web.StreamResponse(status=200)
        response.content_type = "application/x-tar"
        return await send_stream(request, response, chunks)


async def get_image_history(request: web.Request) -> web.Response:
    store = request.app[IMAGES]
    return json_response(image_history(store, request.match_info["name"], _platform(request)))


async def post_images_prune(request: web.Request) -> web.Response:
    report = await prune_images(
        request.app[IMAGES], qfilters(request), in_use=request.app[CONTAINERS].image_in_use
    )
    return json_response(report.to_api())


ROUTES = [
    web.post("/images/create", post_images_create),
    web.post("/images/load", post_images_load),
    web.get("/images/json", get_images_json),
    web.get("/images/get", get_images_get),
    web.post("/images/prune", post_images_prune),
    web.get("/images/{name:.+}/json", get_image_json),
    web.post("/images/{name:.+}/tag", post_image_tag),
    web.get("/images/{name:.+}/get", get_images_get),
    web.get("/images/{name:.+}/history", get_image_history),
    web.delete("/images/{name:.+}", delete_image),
]
