"""diskusage.py: dockerd's SystemDataUsageResponse, the `type` parameter and /build/prune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import CONTAINERS, IMAGES, VOLUMES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import build as build_routes
from dockerpy_engine.api.routers import system as system_routes
from dockerpy_engine.containers.types import ListOptions
from dockerpy_engine.diskusage import disk_usage, object_types
from dockerpy_engine.errdefs import InvalidParameter
from dockerpy_engine.images import ImageStore
from dockerpy_engine.store.db import Database

from .images.test_prune import add, layer

BASE = layer("base", 1000)
TOP = layer("top", 500)
OTHER = layer("other", 700)


class FakeContainers:
    """ContainerService.list as df calls it: every container, sizes when asked."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[ListOptions] = []

    async def list(self, opts: ListOptions) -> list[dict[str, Any]]:
        self.calls.append(opts)
        if opts.size:
            return [{**r, "SizeRw": 10, "SizeRootFs": 10} for r in self.rows]
        return [dict(r) for r in self.rows]

    def image_in_use(self, image_id: str) -> tuple[str, bool] | None:
        return None


class FakeVolumes:
    async def disk_usage(self) -> list[dict[str, Any]]:
        return [{"Name": "v", "UsageData": {"Size": 42, "RefCount": 1}}]


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), tmp_path / "root")
    await s.load_state()
    return s


async def test_images_layers_and_container_counts(store: ImageStore) -> None:
    a = await add(store, [BASE, TOP], ["a:1"])
    b = await add(store, [BASE, OTHER], ["b:1"])
    rows = [{"Id": "c1", "ImageID": a}, {"Id": "c2", "ImageID": a}]
    usage = await disk_usage(FakeContainers(rows), store, FakeVolumes())  # type: ignore[arg-type]
    sizes = {row.chain_id: row.size for i in store.list(all=True) for row in store.layers(i)}
    assert len(sizes) == 3 and usage["LayersSize"] == sum(sizes.values())
    images = {i["Id"]: i for i in usage["Images"]}
    assert images[a]["Containers"] == 2 and images[b]["Containers"] == 0
    base = store.layers(store.get(a))[0].size
    assert images[a]["SharedSize"] == images[b]["SharedSize"] == base
    assert images[a]["Size"] == store.get(a).size
    assert [c["SizeRw"] for c in usage["Containers"]] == [10, 10]
    assert usage["Volumes"] == [{"Name": "v", "UsageData": {"Size": 42, "RefCount": 1}}]
    assert usage["BuildCache"] == []


async def test_type_selects_sections(store: ImageStore) -> None:
    containers = FakeContainers([])
    only = await disk_usage(containers, store, FakeVolumes(), ["volume"])  # type: ignore[arg-type]
    assert only == {
        "LayersSize": 0,
        "Images": None,
        "Containers": None,
        "Volumes": [{"Name": "v", "UsageData": {"Size": 42, "RefCount": 1}}],
        "BuildCache": None,
    }
    assert containers.calls == []
    await disk_usage(containers, store, None, ["image"])  # type: ignore[arg-type]
    assert [c.size for c in containers.calls] == [False]  # counts only: no disk walk
    with pytest.raises(InvalidParameter, match="unknown object type: bogus"):
        object_types(["image", "bogus"])
    assert object_types([]) == {"container", "image", "volume", "build-cache"}


@pytest.fixture
async def api(store: ImageStore):
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app[IMAGES] = store
    app[CONTAINERS] = FakeContainers([])  # type: ignore[assignment]
    app[VOLUMES] = FakeVolumes()  # type: ignore[assignment]
    register_routes(app, [*system_routes.ROUTES, *build_routes.ROUTES])
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def test_http_df_and_build_prune(api: TestClient) -> None:
    resp = await api.get("/v1.51/system/df", params=[("type", "volume"), ("type", "image")])
    body = await resp.json()
    assert resp.status == 200 and body["Containers"] is None and body["Images"] == []
    old = await (await api.get("/v1.41/system/df", params={"type": "volume"})).json()
    assert old["Containers"] == [] and old["BuildCache"] == []  # `type` is 1.42+
    resp = await api.get("/v1.51/system/df", params={"type": "nope"})
    assert resp.status == 400
    resp = await api.post("/build/prune", params={"filters": '{"until":["24h"]}'})
    assert await resp.json() == {"CachesDeleted": None, "SpaceReclaimed": 0}
    resp = await api.post("/build/prune", params={"filters": '{"nope":["x"]}'})
    assert resp.status == 400
