"""GET of a URL a client names: ADD <url>, a remote build context, `docker import <url>`.

dockerd fetches all three with remotecontext.GetWithStatusError (Go's http.Get, proxies
from the environment, no overall timeout): a failure status becomes an error kind with the
response's body in the message (404 NotFound, 400 InvalidParameter, 401 Unauthorized,
403 Forbidden, anything else a plain error), a name that does not resolve is NotFound, and
any other transport failure is worded as Go's `Get "<url>": …` (a 500). Callers stream the
body themselves, so an import of gigabytes is never held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import yarl

from . import errdefs
from .distribution import describe

# GetWithStatusError's error kinds; any other failure status is a plain error.
_STATUS_ERRORS: dict[int, type[errdefs.EngineError]] = {
    400: errdefs.InvalidParameter,
    401: errdefs.Unauthorized,
    403: errdefs.Forbidden,
    404: errdefs.NotFound,
}
_MAX_ERROR_BODY = 1 << 20


@asynccontextmanager
async def get_with_status_error(
    url: str, prefix: str = ""
) -> AsyncIterator[aiohttp.ClientResponse]:
    """The response to `GET url` once its status is below 400, for the caller to read.

    `prefix` starts every message (the builder's `error downloading remote context <url>`);
    transport failures while the caller reads the body are worded the same way.
    """
    lead = f"{prefix}: " if prefix else ""
    try:
        parsed = yarl.URL(url)
    except ValueError as exc:
        raise errdefs.InvalidParameter(f'{lead}parse "{url}": {exc}') from None
    if parsed.scheme not in ("http", "https"):
        raise errdefs.System(f'{lead}Get "{url}": unsupported protocol scheme "{parsed.scheme}"')
    if not parsed.host:
        raise errdefs.System(f'{lead}Get "{url}": http: no Host in request URL')
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
    reading = False
    try:
        async with (
            aiohttp.ClientSession(trust_env=True, timeout=timeout) as session,
            session.get(url) as response,
        ):
            if response.status >= 400:
                body = await response.content.read(_MAX_ERROR_BODY)
                status = f"{response.status} {response.reason}"
                message = (
                    f"{lead}failed to GET {url} with status {status}: "
                    f"{body.strip().decode('utf-8', 'replace')}"
                )
                raise _STATUS_ERRORS.get(response.status, errdefs.System)(message)
            reading = True
            yield response
    except aiohttp.ClientConnectorDNSError as exc:
        raise errdefs.NotFound(f'{lead}Get "{url}": {describe(exc)}') from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        # Go's body reader fails on its own ("unexpected EOF"), not as the request
        where = "" if reading else f'Get "{url}": '
        raise errdefs.System(f"{lead}{where}{describe(exc)}") from None
