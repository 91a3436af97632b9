"""distribution/search.py: dockerd's search filters, terms, v1 endpoints, auth and decoding.

The index is a small aiohttp app on 127.0.0.1 (insecure by default, as in dockerd), over
plain HTTP or, for the standalone-registry rules, over HTTPS with a trustme certificate.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from dockerpy_engine.distribution import search as search_module
from dockerpy_engine.distribution.client import RegistryClient
from dockerpy_engine.distribution.registries import RegistryConfig
from dockerpy_engine.distribution.search import (
    SearchFilters,
    parse_limit,
    parse_search_filters,
    parse_search_results,
    search,
    split_search_term,
    validate_index_name,
)
from dockerpy_engine.distribution.types import AuthConfig, SearchOptions, SearchResult
from dockerpy_engine.errdefs import InvalidParameter, System

RESULTS = [
    {"name": "busybox", "description": "official", "star_count": 5, "is_official": True},
    {"name": "a/busybox", "description": "", "star_count": 2, "is_automated": True},
    {"name": "b/busybox", "description": "many stars", "star_count": 9},
]


# -- pure parsing ------------------------------------------------------------------------


def test_filters_as_dockerd_checks_them():
    assert parse_search_filters({}) == SearchFilters()
    assert parse_search_filters({"is-official": ["true"]}) == SearchFilters(official=True)
    assert parse_search_filters({"is-official": ["0"]}) == SearchFilters(official=False)
    assert parse_search_filters({"stars": ["3", "-1", "7"]}) == SearchFilters(min_stars=7)
    assert parse_search_filters({"is-automated": ["false"]}) == SearchFilters()
    assert parse_search_filters({"is-automated": ["true"]}) is None  # nothing to find
    cases = {
        "invalid filter 'bogus'": {"bogus": ["1"], "stars": ["1"]},
        "invalid filter 'is-official=yes'": {"is-official": ["yes"]},
        "invalid filter 'is-official=true,false'": {"is-official": ["true", "false"]},
        "invalid filter 'is-official'": {"is-official": []},
        "invalid filter 'is-automated=TRUE'": {"is-automated": ["TRUE"]},
        "invalid filter 'stars=3.5': strconv.Atoi: parsing \"3.5\": invalid syntax": {
            "stars": ["3.5"]
        },
        "invalid filter 'stars= 3': strconv.Atoi: parsing \" 3\": invalid syntax": {
            "stars": [" 3"]
        },
        "invalid filter 'stars=99999999999999999999': strconv.Atoi: parsing "
        '"99999999999999999999": value out of range': {"stars": ["99999999999999999999"]},
    }
    for message, filters in cases.items():
        with pytest.raises(InvalidParameter) as info:
            parse_search_filters(filters)
        assert info.value.message == message


def test_filters_admit():
    official = SearchResult("busybox", is_official=True, star_count=1)
    user = SearchResult("me/busybox", star_count=4)
    assert SearchFilters().admits(official) and SearchFilters().admits(user)
    assert not SearchFilters(official=True).admits(user)
    assert not SearchFilters(official=False).admits(official)
    assert not SearchFilters(min_stars=2).admits(official)
    assert SearchFilters(min_stars=4).admits(user)


def test_limit_parameter():
    assert parse_limit("") == 0
    assert parse_limit("7") == 7
    assert parse_limit("+7") == 7
    assert parse_limit("-3") is None  # dockerd's empty 200
    for raw in ("abc", "1.5", " 2", "1_0"):
        with pytest.raises(InvalidParameter) as info:
            parse_limit(raw)
        assert info.value.message == (
            f'invalid limit specified: strconv.Atoi: parsing "{raw}": invalid syntax'
        )


def test_terms_name_their_index():
    assert split_search_term("busybox") == ("docker.io", "busybox")
    assert split_search_term("library/busybox") == ("docker.io", "library/busybox")
    assert split_search_term("me/busybox/x") == ("docker.io", "me/busybox/x")
    assert split_search_term("localhost/busybox") == ("localhost", "busybox")
    assert split_search_term("reg.example/a/b") == ("reg.example", "a/b")
    assert split_search_term("127.0.0.1:5000/b") == ("127.0.0.1:5000", "b")
    assert split_search_term("reg.example") == ("docker.io", "reg.example")
    assert validate_index_name("index.docker.io") == "docker.io"
    assert validate_index_name("reg.example") == "reg.example"
    with pytest.raises(InvalidParameter, match=r"^invalid index name \(reg-\)\. Cannot begin"):
        validate_index_name("reg-")


def test_results_decode_as_go_does():
    body = orjson.dumps({"num_results": 3, "query": "b", "results": [*RESULTS, None]})
    found = parse_search_results(body)
    assert found[0] == SearchResult("busybox", "official", 5, True, False)
    assert found[1].is_automated is True  # search() forces it to false afterwards
    assert found[3] == SearchResult("")
    # keys match regardless of case; unknown keys and nulls are ignored
    loose = b'{"Results":[{"NAME":"x","Star_Count":3,"extra":1,"description":null}]}'
    assert parse_search_results(loose) == [SearchResult("x", star_count=3)]
    assert parse_search_results(b"null") == []
    assert parse_search_results(b'{"results":null}') == []
    errors = {
        b"": "EOF",
        b"[]": "json: cannot unmarshal array into Go value of type registry.SearchResults",
        b'{"results":{}}': "json: cannot unmarshal object into Go struct field "
        "SearchResults.results of type []registry.SearchResult",
        b'{"results":["x"]}': "json: cannot unmarshal string into Go struct field "
        "SearchResults.results of type registry.SearchResult",
        b'{"results":[{"star_count":"5"}]}': "json: cannot unmarshal string into Go struct "
        "field SearchResult.results.star_count of type int",
        b'{"results":[{"star_count":1.5}]}': "json: cannot unmarshal number 1.5 into Go "
        "struct field SearchResult.results.star_count of type int",
        b'{"results":[{"is_official":1}]}': "json: cannot unmarshal number into Go struct "
        "field SearchResult.results.is_official of type bool",
        b'{"results":[{"name":true}]}': "json: cannot unmarshal bool into Go struct field "
        "SearchResult.results.name of type string",
    }
    for raw, message in errors.items():
        with pytest.raises(System) as info:
            parse_search_results(raw)
        assert info.value.message == f"error decoding registry search results: {message}"


# -- against an index ----------------------------------------------------------------------


@dataclass
class FakeIndex:
    """A v1 index; `requests` records (path, query, headers) of each request."""

    results: list[dict[str, Any]] = field(default_factory=lambda: list(RESULTS))
    standalone: str | None = None  # the X-Docker-Registry-Standalone header, if any
    ping_body: Any = None
    search_status: int = 200
    v2_challenge: str = ""
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/_ping", self.ping)
        app.router.add_get("/v1/search", self.search)
        app.router.add_get("/v2/", self.v2)
        app.router.add_get("/token", self.token)
        return app

    def _record(self, request: web.Request) -> None:
        self.requests.append((request.path, dict(request.query), dict(request.headers)))

    async def ping(self, request: web.Request) -> web.Response:
        self._record(request)
        headers = {}
        if self.standalone is not None:
            headers["X-Docker-Registry-Standalone"] = self.standalone
        body = orjson.dumps(self.ping_body) if self.ping_body is not None else b"ok"
        return web.Response(status=404, body=body, headers=headers)  # any answer will do

    async def search(self, request: web.Request) -> web.Response:
        self._record(request)
        if self.search_status != 200:
            return web.Response(status=self.search_status, text="no search here")
        limit = int(request.query["n"])
        return web.json_response({"results": self.results[:limit]})

    async def v2(self, request: web.Request) -> web.Response:
        self._record(request)
        if not self.v2_challenge:
            return web.Response(status=404)
        realm = f"{request.scheme}://{request.host}/token"
        challenge = f'Bearer realm="{realm}",service="fake"'
        return web.Response(status=401, headers={"WWW-Authenticate": challenge})

    async def token(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({"token": "tok-" + request.query.get("scope", "")})

    def searches(self) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        return [r for r in self.requests if r[0] == "/v1/search"]


async def _serve(fake: FakeIndex, context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def registry_client() -> AsyncIterator[RegistryClient]:
    client = RegistryClient(RegistryConfig(certs_dirs=()))
    yield client
    await client.close()


@pytest.fixture
async def index() -> AsyncIterator[tuple[FakeIndex, str]]:
    fake = FakeIndex()
    async for address in _serve(fake):
        yield fake, address


@pytest.fixture
async def tls_index() -> AsyncIterator[tuple[FakeIndex, str]]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    fake = FakeIndex()
    async for address in _serve(fake, context):
        yield fake, address


async def test_search_over_http_after_https_fails(registry_client, index):
    fake, address = index
    found = await search(
        registry_client,
        SearchOptions(f"{address}/busy box", 2, {}, headers={"X-Meta-Who": "me"}),
    )
    assert found == [
        SearchResult("busybox", "official", 5, True, False),
        SearchResult("a/busybox", "", 2, False, False),  # is_automated forced to false
    ]
    assert [r[0] for r in fake.requests] == ["/v1/_ping", "/v1/search"]
    _, query, headers = fake.searches()[0]
    assert query == {"q": "busy box", "n": "2"}
    assert headers["X-Docker-Token"] == "true"
    assert "Authorization" not in headers
    assert all(r[2]["X-Meta-Who"] == "me" for r in fake.requests)


async def test_filters_apply_to_the_answer(registry_client, index):
    fake, address = index
    term = f"{address}/busybox"
    stars = await search(registry_client, SearchOptions(term, filters={"stars": ["3"]}))
    assert [r.name for r in stars] == ["busybox", "b/busybox"]
    users = await search(registry_client, SearchOptions(term, filters={"is-official": ["0"]}))
    assert [r.name for r in users] == ["a/busybox", "b/busybox"]
    requests = len(fake.requests)
    automated = SearchOptions(term, filters={"is-automated": ["true"]})
    assert await search(registry_client, automated) == []
    assert len(fake.requests) == requests  # nobody was asked


async def test_credentials_over_http_only_with_a_username(registry_client, index):
    fake, address = index
    term = f"{address}/busybox"
    await search(registry_client, SearchOptions(term, auth=AuthConfig("me", "pw")))
    expected = "Basic " + base64.b64encode(b"me:pw").decode()
    assert fake.searches()[-1][2]["Authorization"] == expected
    await search(registry_client, SearchOptions(term, auth=AuthConfig(registry_token="t")))
    assert "Authorization" not in fake.searches()[-1][2]


async def test_standalone_https_registry_always_gets_basic(registry_client, tls_index):
    """An insecure registry is tried over HTTPS without verification first; when that
    answers and it is standalone, dockerd sends Basic credentials, empty ones too."""
    fake, address = tls_index
    term = f"{address}/busybox"
    await search(registry_client, SearchOptions(term))
    assert [r[0] for r in fake.requests] == ["/v1/_ping", "/v1/search"]
    assert fake.searches()[-1][2]["Authorization"] == "Basic Og=="  # ":"
    fake.standalone = "false"
    await search(registry_client, SearchOptions(term))
    assert "Authorization" not in fake.searches()[-1][2]
    fake.standalone = None
    fake.ping_body = {"Standalone": False}  # Go matches the key regardless of case
    await search(registry_client, SearchOptions(term))
    assert "Authorization" not in fake.searches()[-1][2]
    fake.standalone = "1"
    await search(registry_client, SearchOptions(term, auth=AuthConfig("me", "pw")))
    assert fake.searches()[-1][2]["Authorization"] == "Basic bWU6cHc="


async def test_identity_token_uses_the_v2_token_flow(registry_client, index):
    fake, address = index
    fake.v2_challenge = "bearer"
    auth = AuthConfig(username="me", identity_token="refresh-me")
    await search(registry_client, SearchOptions(f"{address}/busybox", auth=auth))
    paths = [r[0] for r in fake.requests]
    assert paths == ["/v1/_ping", "/v2/", "/token", "/v1/search"]
    token_query = fake.requests[2][1]
    assert token_query["scope"] == "registry:catalog:search"
    assert fake.searches()[-1][2]["Authorization"] == "Bearer tok-registry:catalog:search"


async def test_errors_in_dockerds_order_and_words(registry_client, index):
    fake, address = index
    with pytest.raises(InvalidParameter) as info:
        await search(registry_client, SearchOptions(f"{address}/busybox", 101))
    assert info.value.message == "limit 101 is outside the range of [1, 100]"
    assert fake.searches() == []  # checked after the ping, before the search

    fake.search_status = 404
    with pytest.raises(System) as failure:
        await search(registry_client, SearchOptions(f"{address}/busybox"))
    assert failure.value.message == "Unexpected status code 404"

    with pytest.raises(InvalidParameter) as info:
        await search(registry_client, SearchOptions("http://reg.example/busybox"))
    assert info.value.message == (
        "invalid repository name: repository name (http://reg.example/busybox) should not "
        "have a scheme"
    )


async def test_unreachable_indexes(registry_client):
    with pytest.raises(InvalidParameter) as info:
        await search(registry_client, SearchOptions("127.0.0.1:1/busybox"))
    refused = "dial tcp 127.0.0.1:1: connect: connection refused"
    assert info.value.message == (
        'invalid registry endpoint "http://127.0.0.1:1/v1/". '
        f'HTTPS attempt: Get "https://127.0.0.1:1/v1/_ping": {refused}. '
        f'HTTP attempt: Get "http://127.0.0.1:1/v1/_ping": {refused}'
    )
    # a secure registry (a name outside the insecure ranges): HTTPS only, and advice
    with pytest.raises(InvalidParameter) as info:
        await search(registry_client, SearchOptions("nowhere.invalid:5000/busybox"))
    assert info.value.message == (
        "invalid registry endpoint https://nowhere.invalid:5000/v1/: "
        'Get "https://nowhere.invalid:5000/v1/_ping": dial tcp: lookup nowhere.invalid: '
        "no such host. If this private registry supports only HTTP or HTTPS with an unknown "
        "CA certificate, please add `--insecure-registry nowhere.invalid:5000` to the "
        "daemon's arguments. In the case of HTTPS, if you have access to the registry's CA "
        "certificate, no need for the flag; simply place the CA certificate at "
        "/etc/docker/certs.d/nowhere.invalid:5000/ca.crt"
    )


async def test_hub_is_asked_unpinged_and_without_library(registry_client, index, monkeypatch):
    fake, address = index
    monkeypatch.setattr(search_module, "INDEX_SERVER", f"http://{address}")
    await search(registry_client, SearchOptions("library/busybox", 3))
    assert [r[0] for r in fake.requests] == ["/v1/search"]
    assert fake.searches()[0][1] == {"q": "busybox", "n": "3"}
    await search(registry_client, SearchOptions("index.docker.io/library/busybox"))
    assert fake.searches()[-1][1] == {"q": "busybox", "n": "25"}
