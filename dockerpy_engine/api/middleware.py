"""The two cross-cutting concerns of every request: the API version, and error → status mapping.

This is the only place that knows which status code an error kind gets (STYLE.md: one switch).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from .. import errdefs
from ..version import API_VERSION, MIN_API_VERSION, SERVER_NAME, SERVER_VERSION, parse_api_version
from ._params import json_response
from .limits import BODY_TOO_LARGE

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
Observe = Callable[[str, str, float], None]
"""`observe(method, route, seconds)`: one served request (metrics)."""

API_VERSION_KEY: web.RequestKey[str] = web.RequestKey("api_version")

_STATUS: tuple[tuple[type[errdefs.EngineError], int], ...] = (
    (errdefs.InvalidParameter, 400),
    (errdefs.Unauthorized, 401),
    (errdefs.Forbidden, 403),
    (errdefs.NotFound, 404),
    (errdefs.Conflict, 409),
    (errdefs.NotModified, 304),
    (errdefs.Unimplemented, 501),
    (errdefs.Unavailable, 503),
)


def status_for(error: errdefs.EngineError) -> int:
    """The HTTP status of an error kind; unknown kinds are our own failures (500)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def _server_header() -> str:
    return f"{SERVER_NAME}/{SERVER_VERSION} (linux)"


@web.middleware
async def version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Settle the request's API version from the /vX.Y prefix, as dockerd's version middleware.

    Too new or too old is the client's error (400) with dockerd's exact wording, which the
    docker CLI shows as is.
    """
    raw = request.match_info.get("version")
    version = API_VERSION
    if raw:
        try:
            requested = parse_api_version(raw)
        except ValueError:
            raise errdefs.InvalidParameter(f"invalid API version: {raw}") from None
        if requested > parse_api_version(API_VERSION):
            raise errdefs.InvalidParameter(
                f"client version {raw} is too new. Maximum supported API version is {API_VERSION}"
            )
        if requested < parse_api_version(MIN_API_VERSION):
            raise errdefs.InvalidParameter(
                f"client version {raw} is too old. Minimum supported API version is "
                f"{MIN_API_VERSION}, please upgrade your client to a newer version"
            )
        version = raw
    request[API_VERSION_KEY] = version
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn error kinds into `{"message": …}` bodies; anything unexpected is a logged 500."""
    try:
        return await handler(request)
    except errdefs.EngineError as exc:
        status = status_for(exc)
        if status == 304:
            return web.Response(status=304)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc.message)
        return json_response({"message": exc.message}, status=status)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return json_response({"message": "page not found"}, status=404)
    except web.HTTPRequestEntityTooLarge:  # a JSON body past limits.MAX_JSON_BODY
        return json_response({"message": BODY_TOO_LARGE}, status=413)
    except web.HTTPException:
        raise
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception as exc:  # a bug: say so, keep serving
        log.exception("%s %s failed", request.method, request.path)
        return json_response({"message": str(exc) or repr(exc)}, status=500)


def route_label(request: web.Request) -> str:
    """The route's pattern without the /vX.Y prefix (`/containers/{id}/json`): one series per
    endpoint however many IDs and versions clients send; `unmatched` for the 404s."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    pattern = resource.canonical
    if pattern.startswith("/v{version}"):
        pattern = pattern[len("/v{version}") :] or "/"
    return pattern


def request_timing(observe: Observe) -> Middleware:
    """Time every request, failed ones too, to its end (a stream's too)."""

    @web.middleware
    async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            observe(request.method, route_label(request), time.perf_counter() - started)

    return timing


async def server_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, streamed ones included, just before its headers go out (dockerd
    sets these in a middleware that wraps the writer)."""
    response.headers["Api-Version"] = API_VERSION
    response.headers["Ostype"] = "linux"
    response.headers["Server"] = _server_header()
