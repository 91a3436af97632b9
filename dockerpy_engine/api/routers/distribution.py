"""Registry endpoints: pull (POST /images/create?fromImage=…), push, login, distribution,
search.

Pull and push answer with dockerd's progress stream. The response is prepared when the
first progress line is written, as dockerd's WriteFlusher does: an error raised before
that (bad reference, manifest unknown, nothing to push) is an ordinary JSON error with its
status; after it, errors go in-band (`{"errorDetail": …, "error": …}`) and the stream ends.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

from ...distribution import (
    AuthConfig,
    DistributionInspect,
    LoginReport,
    Progress,
    PullOptions,
    PushOptions,
    SearchOptions,
    SearchResult,
    decode_auth_header,
)
from ...distribution.manifests import parse_platform
from ...distribution.search import parse_limit
from ...errdefs import InvalidParameter
from ...images.reference import InvalidReference, Reference, parse, validate_digest
from ...version import api_less_than
from .._params import json_body, json_response, qfilters
from .._streams import progress_stream
from ..keys import DISTRIBUTION
from ..middleware import API_VERSION_KEY

log = logging.getLogger(__name__)

AUTH_HEADER = "X-Registry-Auth"


class DistributionBackend(Protocol):
    async def pull(self, ref: Reference, options: PullOptions, progress: Progress) -> None: ...
    async def push(self, ref: Reference, options: PushOptions, progress: Progress) -> None: ...
    async def login(self, auth: AuthConfig) -> LoginReport: ...
    async def inspect(self, ref: Reference, auth: AuthConfig) -> DistributionInspect: ...
    async def search(self, options: SearchOptions) -> list[SearchResult]: ...


def _pull_reference(image: str, tag: str) -> Reference:
    """dockerd's postImagesCreate: `fromImage` (a trailing `:` of `pull -a` dropped) plus
    `tag`, which may be a digest; no tag and none in the name means every tag."""
    ref = parse(image.removesuffix(":"))
    if not tag:
        return ref
    try:
        digest = validate_digest(tag)
    except InvalidReference:
        return ref.with_tag(tag)
    return Reference(ref.domain, ref.path, None, digest)


async def post_images_pull(request: web.Request) -> web.StreamResponse:
    """POST /images/create?fromImage=…&tag=…&platform=… (docker pull, `-a`, by digest).

    A bad X-Registry-Auth is ignored, as dockerd does for pulls; `platform` is read from
    API 1.32 on.
    """
    ref = _pull_reference(request.query.get("fromImage", ""), request.query.get("tag", ""))
    platform = None
    raw_platform = request.query.get("platform", "")
    if raw_platform and not api_less_than(request[API_VERSION_KEY], "1.32"):
        platform = parse_platform(raw_platform)
    options = PullOptions(platform, decode_auth_header(request.headers.get(AUTH_HEADER, "")))
    backend = request.app[DISTRIBUTION]
    return await progress_stream(request, lambda p: backend.pull(ref, options, p))


async def _push_auth(request: web.Request) -> AuthConfig:
    """X-Registry-Auth, or (old clients) the credentials as the JSON body."""
    header = request.headers.get(AUTH_HEADER, "")
    if header:
        return decode_auth_header(header, strict=True)
    body = await json_body(request, required=False)
    if body is None:
        return AuthConfig()
    try:
        return AuthConfig.from_api(body)
    except InvalidParameter as exc:
        raise InvalidParameter(f"Bad parameters and missing X-Registry-Auth: {exc}") from None


async def post_image_push(request: web.Request) -> web.StreamResponse:
    """POST /images/{name}/push?tag=…: one tag, or every tag of the repository."""
    ref = parse(request.match_info["name"])
    if ref.digest is not None:
        raise InvalidParameter("cannot push a digest reference")
    tag = request.query.get("tag", "")
    if tag:
        ref = ref.with_tag(tag)
    options = PushOptions(await _push_auth(request))
    backend = request.app[DISTRIBUTION]
    return await progress_stream(request, lambda p: backend.push(ref, options, p))


async def post_auth(request: web.Request) -> web.Response:
    """POST /auth (docker login): the registry checks the credentials; 401 if it refuses."""
    body = await json_body(request)
    report = await request.app[DISTRIBUTION].login(AuthConfig.from_api(body))
    return json_response(report.to_api())


async def get_distribution_json(request: web.Request) -> web.Response:
    """GET /distribution/{name}/json: descriptor and platforms, straight from the registry."""
    ref = parse(request.match_info["name"])
    auth = decode_auth_header(request.headers.get(AUTH_HEADER, ""), strict=True)
    result = await request.app[DISTRIBUTION].inspect(ref, auth)
    return json_response(result.to_api())


async def get_images_search(request: web.Request) -> web.Response:
    """GET /images/search?term=…&limit=…&filters=… (docker search), as dockerd's
    getImagesSearch: a bad X-Registry-Auth is ignored, `X-Meta-*` headers are passed on to
    the registry, and a negative limit is answered with an empty 200 (see `parse_limit`)."""
    limit = parse_limit(request.query.get("limit", ""))
    if limit is None:
        return web.Response(status=200)
    options = SearchOptions(
        term=request.query.get("term", ""),
        limit=limit,
        filters=qfilters(request),
        auth=decode_auth_header(request.headers.get(AUTH_HEADER, "")),
        headers={k: v for k, v in request.headers.items() if k.lower().startswith("x-meta-")},
    )
    results = await request.app[DISTRIBUTION].search(options)
    return json_response([result.to_api() for result in results])


ROUTES = [
    web.post("/auth", post_auth),
    web.post("/images/{name:.+}/push", post_image_push),
    web.get("/distribution/{name:.+}/json", get_distribution_json),
    web.get("/images/search", get_images_search),
]
