"""api/middleware.py: error kinds → status codes and `{"message": …}`, and the API version."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.api.app import VERSION_PREFIX
from dockerpy_engine.api.middleware import (
    API_VERSION_KEY,
    error_middleware,
    server_headers,
    status_for,
    version_middleware,
)
from dockerpy_engine.version import API_VERSION, MIN_API_VERSION, SERVER_NAME, SERVER_VERSION

KINDS = {
    "invalid": (errdefs.InvalidParameter("bad parameter"), 400),
    "unauthorized": (errdefs.Unauthorized("who are you"), 401),
    "forbidden": (errdefs.Forbidden("not allowed"), 403),
    "notfound": (errdefs.NotFound("no such thing"), 404),
    "nosuchcontainer": (errdefs.NoSuchContainer("web"), 404),
    "nosuchimage": (errdefs.NoSuchImage("alpine:edge"), 404),
    "conflict": (errdefs.Conflict("name in use"), 409),
    "unimplemented": (errdefs.Unimplemented("not yet"), 501),
    "unavailable": (errdefs.Unavailable("containerd is down"), 503),
    "system": (errdefs.System("mount failed"), 500),
    "engine": (errdefs.EngineError("some kind we forgot"), 500),
}


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"version": request[API_VERSION_KEY]})


async def raise_kind(request: web.Request) -> web.Response:
    raise KINDS[request.match_info["kind"]][0]


async def not_modified(request: web.Request) -> web.Response:
    raise errdefs.NotModified("container already started")


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("something broke")


async def crash_without_message(request: web.Request) -> web.Response:
    raise KeyError()


async def aiohttp_exception(request: web.Request) -> web.Response:
    raise web.HTTPBadRequest(text="from aiohttp")


async def streamed(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.headers["X-Mine"] = "1"
    await response.prepare(request)
    await response.write(b"chunk")
    return response


ROUTES = [
    web.get("/ok", ok),
    web.get("/errors/{kind}", raise_kind),
    web.post("/not-modified", not_modified),
    web.get("/crash", crash),
    web.get("/crash-bare", crash_without_message),
    web.get("/aiohttp", aiohttp_exception),
    web.get("/streamed", streamed),
]


@pytest.fixture
async def client():
    """The real middlewares, each route both plain and under /vX.Y, as api/app.py registers them."""
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app.on_response_prepare.append(server_headers)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler)
        app.router.add_route(route.method, VERSION_PREFIX + route.path, route.handler)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def assert_engine_headers(response) -> None:
    assert response.headers["Api-Version"] == API_VERSION
    assert response.headers["Server"] == f"{SERVER_NAME}/{SERVER_VERSION} (linux)"


# --- error kinds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [(k, s) for k, (_, s) in KINDS.items()])
async def test_each_error_kind_gets_its_status_and_message_body(client, kind, status):
    response = await client.get(f"/errors/{kind}")

    assert response.status == status
    assert response.content_type == "application/json"
    assert await response.json() == {"message": KINDS[kind][0].message}


async def test_error_kinds_map_the_same_under_a_version_prefix(client):
    response = await client.get("/v1.41/errors/conflict")

    assert response.status == 409
    assert await response.json() == {"message": "name in use"}


async def test_no_such_container_body_is_dockerds_message(client):
    response = await client.get("/errors/nosuchcontainer")

    assert await response.json() == {"message": "No such container: web"}


async def test_not_modified_is_304_without_a_body(client):
    response = await client.post("/not-modified")

    assert response.status == 304
    assert await response.read() == b""
    assert_engine_headers(response)


async def test_error_responses_carry_the_engine_headers(client):
    response = await client.get("/errors/notfound")

    assert_engine_headers(response)


async def test_an_unexpected_exception_is_a_500_with_its_message(client, caplog):
    with caplog.at_level(logging.ERROR, logger="dockerpy_engine.api.middleware"):
        response = await client.get("/crash")

    assert response.status == 500
    assert await response.json() == {"message": "something broke"}
    assert_engine_headers(response)
    assert any(record.exc_info for record in caplog.records), "the traceback is logged"


async def test_an_unexpected_exception_without_text_still_has_a_message(client):
    response = await client.get("/crash-bare")

    assert response.status == 500
    assert (await response.json())["message"] == "KeyError()"


async def test_aiohttps_own_http_exceptions_pass_through(client):
    response = await client.get("/aiohttp")

    assert response.status == 400
    assert await response.text() == "from aiohttp"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errdefs.InvalidParameter("x"), 400),
        (errdefs.NoSuchImage("x"), 404),
        (errdefs.NotModified("x"), 304),
        (errdefs.System("x"), 500),
    ],
)
def test_status_for_maps_kinds_and_subclasses(error, status):
    assert status_for(error) == status


def test_status_for_a_subclass_of_a_kind_is_the_kinds_status():
    class NameInUse(errdefs.Conflict):
        pass

    assert status_for(NameInUse("taken")) == 409


# --- routing -------------------------------------------------------------------------------------


async def test_unknown_route_is_404_page_not_found(client):
    response = await client.get("/no/such/route")

    assert response.status == 404
    assert await response.json() == {"message": "page not found"}
    assert_engine_headers(response)


async def test_unknown_route_under_a_version_prefix_is_404_page_not_found(client):
    response = await client.get("/v1.41/no/such/route")

    assert response.status == 404
    assert await response.json() == {"message": "page not found"}


async def test_wrong_method_is_404_page_not_found_as_dockerd(client):
    response = await client.delete("/ok")

    assert response.status == 404
    assert await response.json() == {"message": "page not found"}


# --- API version ---------------------------------------------------------------------------------


async def test_success_responses_carry_api_version_and_server_headers(client):
    response = await client.get("/ok")

    assert response.status == 200
    assert_engine_headers(response)


async def test_without_prefix_the_request_gets_the_newest_version(client):
    response = await client.get("/ok")

    assert await response.json() == {"version": API_VERSION}


@pytest.mark.parametrize("version", [MIN_API_VERSION, "1.41", API_VERSION])
async def test_a_supported_version_prefix_is_passed_to_the_handler(client, version):
    response = await client.get(f"/v{version}/ok")

    assert response.status == 200
    assert await response.json() == {"version": version}


async def test_the_api_version_header_is_the_servers_whatever_the_client_asked(client):
    response = await client.get("/v1.41/ok")

    assert response.headers["Api-Version"] == API_VERSION


async def test_a_too_new_version_is_400_with_dockerds_message(client):
    response = await client.get("/v1.52/ok")

    assert response.status == 400
    assert await response.json() == {
        "message": "client version 1.52 is too new. Maximum supported API version is 1.51"
    }
    assert_engine_headers(response)


async def test_a_too_old_version_is_400_with_dockerds_message(client):
    response = await client.get("/v1.12/ok")

    assert response.status == 400
    assert await response.json() == {
        "message": "client version 1.12 is too old. Minimum supported API version is 1.24, "
        "please upgrade your client to a newer version"
    }


async def test_a_too_new_major_version_is_400(client):
    response = await client.get("/v2.0/ok")

    assert response.status == 400
    assert "is too new" in (await response.json())["message"]


async def test_versions_compare_as_numbers_not_strings(client):
    """1.9 is older than 1.24 although "1.9" > "1.24" as text."""
    response = await client.get("/v1.9/ok")

    assert response.status == 400
    assert "is too old" in (await response.json())["message"]


async def test_a_version_check_failure_on_an_unknown_route_is_still_404(client):
    response = await client.get("/v1.99/no/such/route")

    assert response.status == 404


async def test_a_streamed_response_keeps_the_headers_it_prepared(client):
    response = await client.get("/streamed")

    assert response.status == 200
    assert response.headers["X-Mine"] == "1"
    assert await response.read() == b"chunk"


async def test_streamed_responses_carry_the_server_headers_too():
    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"x")
        return response

    app = web.Application(middlewares=[error_middleware, version_middleware])
    app.on_response_prepare.append(server_headers)
    app.router.add_get("/stream", streamed)
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/stream")
        assert response.headers["Api-Version"] == API_VERSION
        assert response.headers["Ostype"] == "linux"
        assert response.headers["Server"].startswith(SERVER_NAME)
