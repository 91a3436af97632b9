"""docker search against a v1 search index of our own on 127.0.0.1 (Docker Hub is not
reachable here): the term names the index (`127.0.0.1:<port>/busybox`), which dockerd
treats as insecure (127.0.0.0/8), so HTTPS fails and the daemon falls back to HTTP.

Driven by the real docker CLI and docker-py; errors are checked against dockerd's texts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from .conftest import ok, out
from .registry import free_port
from .webapp import WebApp

LONG = "A tool box of small utilities, with far more words than a table has room for."
CATALOGUE = [
    {"name": "busybox", "description": "Busybox base image.", "star_count": 5,
     "is_official": True, "is_automated": False},
    {"name": "someone/busybox-long", "description": LONG, "star_count": 0,
     "is_official": False, "is_automated": True},
    {"name": "other/busybox-tools", "description": "tools", "star_count": 3,
     "is_official": False, "is_automated": False},
    {"name": "other/alpine", "description": "not a match", "star_count": 9,
     "is_official": False, "is_automated": False},
]  # fmt: skip


class Index:
    """A v1 search index: `_ping`, and `search` over CATALOGUE by substring, `n` at most;
    every request is recorded (path, query, headers)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_get("/v1/_ping", self._ping)
        self.app.router.add_get("/v1/search", self._search)

    def _record(self, request: web.Request) -> None:
        self.requests.append(
            {"path": request.path, "query": dict(request.query), "headers": dict(request.headers)}
        )

    async def _ping(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({"standalone": True})

    async def _search(self, request: web.Request) -> web.Response:
        self._record(request)
        term, limit = request.query["q"], int(request.query["n"])
        results = [r for r in CATALOGUE if term in r["name"]][:limit]
        return web.json_response({"num_results": len(results), "query": term, "results": results})

    def searches(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/v1/search"]


@pytest.fixture
def index() -> Iterator[tuple[Index, str]]:
    """The index and its address (`127.0.0.1:<port>`)."""
    fake = Index()
    with WebApp(fake.app) as server:
        yield fake, server.address


def _rows(text: str) -> list[list[str]]:
    """The CLI's table without its header, split on runs of 2+ spaces."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:] if line.strip()]


def test_cli_search_table_and_request(cli, index):
    fake, address = index
    result = ok(cli("search", f"{address}/busybox"))
    lines = out(result).splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    rows = _rows(out(result))
    assert [r[0] for r in rows] == ["busybox", "someone/busybox-long", "other/busybox-tools"]
    assert rows[0][1:] == ["Busybox base image.", "5", "[OK]"]
    # the CLI cuts descriptions to 45 characters
    assert rows[1][1] == LONG[:44] + "…"
    (sent,) = fake.searches()
    assert sent["query"] == {"q": "busybox", "n": "25"}
    assert sent["headers"]["X-Docker-Token"] == "true"
    assert "Authorization" not in sent["headers"]  # no username: no credentials
    assert [r["path"] for r in fake.requests] == ["/v1/_ping", "/v1/search"]  # HTTP after HTTPS


def test_cli_limit_filters_no_trunc_format(cli, index):
    fake, address = index
    term = f"{address}/busybox"
    rows = _rows(out(ok(cli("search", "--limit", "2", term))))
    assert [r[0] for r in rows] == ["busybox", "someone/busybox-long"]
    assert fake.searches()[-1]["query"]["n"] == "2"

    rows = _rows(out(ok(cli("search", "--filter", "stars=3", term))))
    assert [r[0] for r in rows] == ["busybox", "other/busybox-tools"]
    rows = _rows(out(ok(cli("search", "--filter", "stars=3", "--filter", "stars=4", term))))
    assert [r[0] for r in rows] == ["busybox"]  # the largest stars filter counts
    rows = _rows(out(ok(cli("search", "--filter", "is-official=true", term))))
    assert [r[0] for r in rows] == ["busybox"]
    rows = _rows(out(ok(cli("search", "--filter", "is-official=false", term))))
    assert [r[0] for r in rows] == ["someone/busybox-long", "other/busybox-tools"]

    rows = _rows(out(ok(cli("search", "--no-trunc", term))))
    assert rows[1][1] == LONG

    text = out(ok(cli("search", "--format", "{{.Name}}:{{.StarCount}}:{{.IsOfficial}}", term)))
    assert text.splitlines() == [  # the CLI shows is_official as [OK] or nothing
        "busybox:5:[OK]",
        "someone/busybox-long:0:",
        "other/busybox-tools:3:",
    ]


def test_is_automated_is_deprecated(cli, index):
    """is-automated=true finds nothing without asking the index (the field is deprecated:
    always false in results, which docker-py's test checks; the CLI no longer shows it)."""
    fake, address = index
    text = out(ok(cli("search", "--filter", "is-automated=true", f"{address}/busybox")))
    assert text.split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]  # and no row
    assert fake.requests == []


def test_docker_py_search_and_raw_api(client, index):
    fake, address = index
    found = client.images.search(f"{address}/busybox")
    assert [r["name"] for r in found] == ["busybox", "someone/busybox-long", "other/busybox-tools"]
    assert found[0] == {
        "star_count": 5,
        "is_official": True,
        "name": "busybox",
        "is_automated": False,
        "description": "Busybox base image.",
    }
    assert all(r["is_automated"] is False for r in found)
    assert client.images.search(f"{address}/nothing-like-it") == []

    api = client.api
    url = api._url("/images/search")
    response = api.get(url, params={"term": f"{address}/busybox", "limit": "0"})
    assert response.status_code == 200
    assert fake.searches()[-1]["query"]["n"] == "25"  # 0 is dockerd's default
    # the legacy map form of filters
    filters = json.dumps({"stars": {"4": True}})
    response = api.get(url, params={"term": f"{address}/busybox", "filters": filters})
    assert [r["name"] for r in response.json()] == ["busybox"]


def test_credentials_and_meta_headers_reach_the_index(client, index):
    fake, address = index
    auth = base64.urlsafe_b64encode(json.dumps({"username": "me", "password": "pw"}).encode())
    response = client.api.get(
        client.api._url("/images/search"),
        params={"term": f"{address}/busybox"},
        headers={"X-Registry-Auth": auth.decode(), "X-Meta-Trace": "abc"},
    )
    assert response.status_code == 200, response.text
    sent = fake.searches()[-1]["headers"]
    assert sent["Authorization"] == "Basic " + base64.b64encode(b"me:pw").decode()
    assert sent["X-Meta-Trace"] == "abc"
    assert all(r["headers"].get("X-Meta-Trace") == "abc" for r in fake.requests)
    # a header that is no credentials at all is ignored, as dockerd does for a search
    response = client.api.get(
        client.api._url("/images/search"),
        params={"term": f"{address}/busybox"},
        headers={"X-Registry-Auth": "%%%"},
    )
    assert response.status_code == 200
    assert "Authorization" not in fake.searches()[-1]["headers"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "101"}, "limit 101 is outside the range of [1, 100]"),
        ({"limit": "abc"}, 'invalid limit specified: strconv.Atoi: parsing "abc": invalid syntax'),
        ({"filters": '{"foo":["bar"]}'}, "invalid filter 'foo'"),
        ({"filters": '{"is-official":["maybe"]}'}, "invalid filter 'is-official=maybe'"),
        ({"filters": '{"is-automated":["yes"]}'}, "invalid filter 'is-automated=yes'"),
        (
            {"filters": '{"stars":["many"]}'},
            "invalid filter 'stars=many': strconv.Atoi: parsing \"many\": invalid syntax",
        ),
    ],
)
def test_bad_input_is_400_with_dockerds_text(client, index, params, message):
    fake, address = index
    response = client.api.get(
        client.api._url("/images/search"), params={"term": f"{address}/busybox", **params}
    )
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert fake.searches() == []


def test_bad_input_through_the_cli(cli, index):
    _, address = index
    result = cli("search", "--limit", "101", f"{address}/busybox")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "Error response from daemon: limit 101 is outside the range of [1, 100]"
    )
    result = cli("search", "--filter", "stars=many", f"{address}/busybox")
    assert result.returncode == 1
    assert "invalid filter 'stars=many'" in result.stderr.decode()


def test_odd_terms_and_limits(client, index):
    _, address = index
    url = client.api._url("/images/search")
    response = client.api.get(url, params={"term": "https://example.com/busybox"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "invalid repository name: repository name (https://example.com/busybox) should not "
        "have a scheme"
    )
    response = client.api.get(url, params={"term": "-bad.example:5000/busybox"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "invalid index name (-bad.example:5000). Cannot begin or end with a hyphen"
    )
    # dockerd wraps a nil error for a negative limit and answers 200 with nothing
    response = client.api.get(url, params={"term": f"{address}/busybox", "limit": "-1"})
    assert response.status_code == 200
    assert response.content == b""


def test_unreachable_index(cli):
    port = free_port()
    result = cli("search", f"127.0.0.1:{port}/busybox")
    assert result.returncode == 1
    refused = f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    assert result.stderr.decode().strip() == (
        f'Error response from daemon: invalid registry endpoint "http://127.0.0.1:{port}/v1/". '
        f'HTTPS attempt: Get "https://127.0.0.1:{port}/v1/_ping": {refused}. '
        f'HTTP attempt: Get "http://127.0.0.1:{port}/v1/_ping": {refused}'
    )


def test_registry_without_v1_search(client, registry):
    """A v2-only registry (docker-registry) answers 404: dockerd's 500, no more said."""
    response = client.api.get(
        client.api._url("/images/search"), params={"term": f"{registry.host}/busybox"}
    )
    assert response.status_code == 500
    assert response.json() == {"message": "Unexpected status code 404"}
