"""httpget.py: dockerd's GetWithStatusError kinds and Go's wording of transport failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.httpget import get_with_status_error


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        if code == 200:
            return web.Response(text="fine")
        if code == 299:  # a length promised and not kept
            response = web.StreamResponse(headers={"Content-Length": "100"})
            await response.prepare(request)
            await response.write(b"short")
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(status=code, text=f"  body of {code}\n")

    app = web.Application()
    app.router.add_get("/{code}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}"
    await server.close()


async def test_status_kinds(base):
    async with get_with_status_error(f"{base}/200") as response:
        assert await response.text() == "fine"
    kinds = {
        400: (errdefs.InvalidParameter, "Bad Request"),
        401: (errdefs.Unauthorized, "Unauthorized"),
        403: (errdefs.Forbidden, "Forbidden"),
        404: (errdefs.NotFound, "Not Found"),
        500: (errdefs.System, "Internal Server Error"),
        418: (errdefs.System, "I'm a Teapot"),
    }
    for code, (kind, reason) in kinds.items():
        url = f"{base}/{code}"
        with pytest.raises(kind) as info:
            async with get_with_status_error(url, "fetching"):
                pass
        assert type(info.value) is kind
        assert info.value.message == (
            f"fetching: failed to GET {url} with status {code} {reason}: body of {code}"
        )


async def test_transport_failures_in_gos_words(base):
    with pytest.raises(errdefs.System) as info:
        async with get_with_status_error("http://127.0.0.1:1/x"):
            pass
    assert info.value.message == (
        'Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused'
    )
    with pytest.raises(errdefs.NotFound) as missing:
        async with get_with_status_error("http://nowhere.invalid/x"):
            pass
    assert missing.value.message == (
        'Get "http://nowhere.invalid/x": dial tcp: lookup nowhere.invalid: no such host'
    )
    with pytest.raises(errdefs.System) as scheme:
        async with get_with_status_error("ftp://127.0.0.1/x"):
            pass
    assert scheme.value.message == 'Get "ftp://127.0.0.1/x": unsupported protocol scheme "ftp"'
    # a body cut short fails as the read, not as the request
    with pytest.raises(errdefs.System) as cut:
        async with get_with_status_error(f"{base}/299") as response:
            await response.read()
    assert cut.value.message == "unexpected EOF"
