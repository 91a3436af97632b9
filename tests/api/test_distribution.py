"""api/routers/distribution.py on a fake backend (errors before and after the stream starts,
search parameters), and the URL import that shares POST /images/create, on a fake image
store fed by a local file server."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import DISTRIBUTION, IMAGES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import distribution, images
from dockerpy_engine.distribution import LoginReport, Progress, SearchOptions, SearchResult


class FakeDistribution:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    async def pull(self, ref, options, progress: Progress) -> None:
        self.calls.append(("pull", (str(ref), options)))
        if ref.path == "library/missing":
            raise errdefs.NotFound(f"manifest for {ref.familiar_string()} not found")
        await progress.message(ref.tag or ref.digest or "", "Pulling from x")
        if ref.path == "library/broken":
            raise errdefs.System("filesystem layer verification failed for digest sha256:x")
        await progress.message("", "Status: Downloaded newer image for x")

    async def push(self, ref, options, progress: Progress) -> None:
        self.calls.append(("push", (str(ref), options)))
        await progress.message("", f"The push refers to repository [{ref.name}]")

    async def login(self, auth) -> LoginReport:
        if auth.password != "pw":
            raise errdefs.Unauthorized("login attempt to http://r/v2/ failed with status: 401")
        return LoginReport(identity_token="")

    async def inspect(self, ref, auth):
        raise errdefs.NotFound("nope")

    async def search(self, options: SearchOptions) -> list[SearchResult]:
        self.calls.append(("search", options))
        if options.term == "down/x":
            raise errdefs.System("Unexpected status code 404")
        return [SearchResult("busybox", "base", 3, True, False)]


PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class Imported:
    id: str


class FakeImages:
    """Takes the body as import_image would; `refuse` fails after reading it all."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, object]]] = []
        self.refuse = False

    async def import_image(self, chunks: AsyncIterator[bytes], **kwargs: object) -> Imported:
        data = b"".join([chunk async for chunk in chunks])
        self.received.append((data, kwargs))
        if self.refuse:
            raise errdefs.InvalidParameter("invalid tar archive: invalid header")
        return Imported("sha256:" + "ab" * 32)


@pytest.fixture
async def files() -> AsyncIterator[tuple[TestServer, list[str]]]:
    asked: list[str] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        asked.append(request.path)
        if request.path == "/rootfs.tar":
            return web.Response(body=PAYLOAD)
        return web.Response(status=404, text="not here\n")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, asked
    await server.close()


@pytest.fixture
async def api():
    app = web.Application(middlewares=[error_middleware, version_middleware])
    backend = FakeDistribution()
    app[DISTRIBUTION] = backend  # type: ignore[assignment]
    app[IMAGES] = FakeImages()  # type: ignore[assignment]
    register_routes(app, [*distribution.ROUTES, *images.ROUTES])
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client, backend
    await client.close()


def _lines(body: bytes) -> list[dict]:
    return [orjson.loads(line) for line in body.split(b"\r\n") if line]


async def test_pull_stream_and_parameters(api):
    client, backend = api
    auth = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": "p"}).encode())
    response = await client.post(
        "/v1.50/images/create",
        params={"fromImage": "127.0.0.1:5000/app", "tag": "1", "platform": "linux/arm64"},
        headers={"X-Registry-Auth": auth.decode().rstrip("=")},
    )
    assert response.status == 200
    assert _lines(await response.read())[0] == {"status": "Pulling from x", "id": "1"}
    ref, options = backend.calls[-1][1]
    assert ref == "127.0.0.1:5000/app:1"
    assert str(options.platform) == "linux/arm64" and options.auth.username == "u"
    digest = "sha256:" + "a" * 64
    await client.post("/images/create", params={"fromImage": "busybox", "tag": digest})
    assert backend.calls[-1][1][0] == f"docker.io/library/busybox@{digest}"
    await client.post("/images/create", params={"fromImage": "busybox:"})  # pull -a
    assert backend.calls[-1][1][0] == "docker.io/library/busybox"


async def test_errors_before_the_stream_are_plain_and_after_it_in_band(api):
    client, _ = api
    missing = await client.post("/images/create", params={"fromImage": "missing", "tag": "1"})
    assert missing.status == 404
    assert (await missing.json())["message"] == "manifest for missing:1 not found"
    bad = await client.post("/images/create", params={"fromImage": "UPPER"})
    assert bad.status == 400
    broken = await client.post("/images/create", params={"fromImage": "broken", "tag": "1"})
    assert broken.status == 200
    last = _lines(await broken.read())[-1]
    message = "filesystem layer verification failed for digest sha256:x"
    assert last == {"errorDetail": {"message": message}, "error": message}


async def test_push_and_auth(api):
    client, backend = api
    pushed = await client.post("/images/127.0.0.1:5000/app/push", params={"tag": "1"}, data="{}")
    assert pushed.status == 200
    assert backend.calls[-1][1][0] == "127.0.0.1:5000/app:1"
    digest = await client.post("/images/app@sha256:" + "a" * 64 + "/push")
    assert digest.status == 400
    bad_header = await client.post("/images/app/push", headers={"X-Registry-Auth": "%%"})
    assert bad_header.status == 400
    ok = await client.post("/auth", json={"username": "u", "password": "pw"})
    assert await ok.json() == {"IdentityToken": "", "Status": "Login Succeeded"}
    refused = await client.post("/auth", json={"username": "u", "password": "x"})
    assert refused.status == 401
    assert "failed with status: 401" in (await refused.json())["message"]
    inspect = await client.get("/distribution/app:1/json")
    assert inspect.status == 404


async def test_search_parameters_and_answer(api):
    client, backend = api
    auth = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": "p"}).encode())
    response = await client.get(
        "/v1.51/images/search",
        params={"term": "reg.example/busybox", "limit": "7", "filters": '{"stars":["2"]}'},
        headers={"X-Registry-Auth": auth.decode(), "X-Meta-Trace": "t", "X-Other": "no"},
    )
    assert response.status == 200
    assert await response.json() == [
        {
            "star_count": 3,
            "is_official": True,
            "name": "busybox",
            "is_automated": False,
            "description": "base",
        }
    ]
    options = backend.calls[-1][1]
    assert (options.term, options.limit, options.filters) == (
        "reg.example/busybox",
        7,
        {"stars": ["2"]},
    )
    assert options.auth.username == "u"
    assert dict(options.headers) == {"X-Meta-Trace": "t"}
    # no limit is 0 (the service's default); a bad X-Registry-Auth is no credentials
    await client.get("/images/search", params={"term": "x"}, headers={"X-Registry-Auth": "%"})
    options = backend.calls[-1][1]
    assert (options.limit, options.auth.anonymous) == (0, True)


async def test_search_limit_and_errors(api):
    client, backend = api
    bad = await client.get("/images/search", params={"term": "x", "limit": "ten"})
    assert bad.status == 400
    assert await bad.json() == {
        "message": 'invalid limit specified: strconv.Atoi: parsing "ten": invalid syntax'
    }
    calls = len(backend.calls)
    negative = await client.get("/images/search", params={"term": "x", "limit": "-2"})
    assert negative.status == 200
    assert await negative.read() == b""  # dockerd answers with nothing at all
    assert len(backend.calls) == calls
    down = await client.get("/images/search", params={"term": "down/x"})
    assert down.status == 500
    assert await down.json() == {"message": "Unexpected status code 404"}


# -- docker import <url> ---------------------------------------------------------------


async def test_download_streams_into_the_import(api, files):
    client, _ = api
    store = client.server.app[IMAGES]
    server, _ = files
    url = f"http://127.0.0.1:{server.port}/rootfs.tar"
    response = await client.post(
        "/images/create",
        params={"fromSrc": url, "repo": "me/app", "tag": "1", "changes": "ENV A=1"},
    )
    assert response.status == 200
    lines = _lines(await response.read())
    assert lines[0] == {"status": f"Downloading from {url}"}
    assert lines[-1] == {"status": "sha256:" + "ab" * 32}
    bars = lines[1:-1]
    assert bars and {b["status"] for b in bars} == {"Importing"}
    assert bars[-1]["progressDetail"] == {"current": len(PAYLOAD), "total": len(PAYLOAD)}
    data, kwargs = store.received[-1]
    assert data == PAYLOAD
    assert kwargs["repo_tag"] == "me/app:1"
    assert kwargs["changes"] == ["ENV A=1"]
    assert kwargs["message"] == f"Imported from {url}"


async def test_a_bare_host_is_http_and_named_as_given(api, files):
    client, _ = api
    store = client.server.app[IMAGES]
    server, _ = files
    bare = f"127.0.0.1:{server.port}/rootfs.tar"
    response = await client.post("/images/create", params={"fromSrc": bare, "message": ""})
    lines = _lines(await response.read())
    assert lines[0] == {"status": f"Downloading from http://{bare}"}
    assert store.received[-1][1]["message"] == f"Imported from {bare}"


async def test_errors_before_and_after_the_first_line(api, files):
    client, _ = api
    store = client.server.app[IMAGES]
    server, asked = files
    base = f"http://127.0.0.1:{server.port}"
    missing = await client.post("/images/create", params={"fromSrc": f"{base}/nope.tar"})
    assert missing.status == 404
    assert await missing.json() == {
        "message": f"failed to GET {base}/nope.tar with status 404 Not Found: not here"
    }
    bad_name = await client.post(
        "/images/create", params={"fromSrc": f"{base}/rootfs.tar", "repo": "UPPER"}
    )
    assert bad_name.status == 400
    assert asked == ["/nope.tar"]  # the name was refused before any download
    nothing = await client.post("/images/create")
    assert nothing.status == 500
    assert await nothing.json() == {"message": 'Get "http://": http: no Host in request URL'}

    store.refuse = True
    refused = await client.post("/images/create", params={"fromSrc": f"{base}/rootfs.tar"})
    assert refused.status == 200
    lines = _lines(await refused.read())
    message = "invalid tar archive: invalid header"
    assert lines[-1] == {"errorDetail": {"message": message}, "error": message}
