"""api/routers/volumes.py over HTTP against a fake volume service: shapes, status codes and
the prune meaning that depends on the API version."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import VOLUMES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import volumes
from dockerpy_engine.volumes import VolumeCreateOptions, VolumePruneReport

VOL = {"Name": "data", "Driver": "local", "Mountpoint": "/v/data/_data", "Scope": "local"}


class FakeVolumes:
    def __init__(self) -> None:
        self.created: list[VolumeCreateOptions] = []
        self.pruned: list[dict[str, list[str]]] = []

    async def create(self, opts: VolumeCreateOptions) -> dict[str, Any]:
        self.created.append(opts)
        return VOL

    def inspect(self, name: str) -> dict[str, Any]:
        if name != "data":
            raise errdefs.NotFound(f"get {name}: no such volume")
        return VOL

    def list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        if "bogus" in filters:
            raise errdefs.InvalidParameter("invalid filter 'bogus'")
        return [VOL]

    async def remove(self, name: str, force: bool = False) -> None:
        if name == "busy":
            raise errdefs.Conflict("remove busy: volume is in use - [abc]")

    async def prune(self, filters: dict[str, list[str]]) -> VolumePruneReport:
        self.pruned.append(filters)
        return VolumePruneReport(deleted=[], reclaimed=0)


@pytest.fixture
async def client():
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app[VOLUMES] = FakeVolumes()  # type: ignore[assignment]
    register_routes(app, volumes.ROUTES)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_create_list_inspect(client):
    r = await client.post("/volumes/create", json={"Name": "data", "Labels": {"a": "b"}})
    assert r.status == 201 and (await r.json()) == VOL
    (opts,) = client.app[VOLUMES].created
    assert opts.name == "data" and opts.labels == {"a": "b"} and opts.driver == "local"
    r = await client.get("/volumes")
    assert (await r.json()) == {"Volumes": [VOL], "Warnings": None}
    r = await client.get("/volumes/data")
    assert r.status == 200
    r = await client.get("/volumes/nope")
    assert r.status == 404 and (await r.json())["message"] == "get nope: no such volume"
    r = await client.get('/volumes?filters={"bogus":["x"]}')
    assert r.status == 400


async def test_create_refuses_non_string_labels(client):
    r = await client.post("/volumes/create", json={"Name": "x1", "Labels": {"a": 1}})
    assert r.status == 400


async def test_remove(client):
    assert (await client.delete("/volumes/data")).status == 204
    r = await client.delete("/volumes/busy")
    assert r.status == 409 and "volume is in use" in (await r.json())["message"]


async def test_prune_meaning_follows_the_api_version(client):
    r = await client.post("/v1.41/volumes/prune")
    assert (await r.json()) == {"VolumesDeleted": None, "SpaceReclaimed": 0}
    await client.post("/v1.43/volumes/prune")
    await client.post('/v1.43/volumes/prune?filters={"all":["true"]}')
    assert client.app[VOLUMES].pruned == [{"all": ["true"]}, {}, {"all": ["true"]}]
    r = await client.post('/v1.41/volumes/prune?filters={"all":["true"]}')
    assert r.status == 400
