"""images/prune.py: dockerd's ImagePrune selection, conflicts, filters and reclaimed bytes."""

from __future__ import annotations

import asyncio
import calendar
import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import CONTAINERS, IMAGES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import images as image_routes
from dockerpy_engine.errdefs import Conflict, InvalidParameter
from dockerpy_engine.filters import parse_until
from dockerpy_engine.images import ImageStore, Reference, parse
from dockerpy_engine.images.prune import (
    get_bool_or_default,
    match_kv_list,
    prune_images,
)
from dockerpy_engine.store.db import Database

from .test_store import Users, chunks, image_config, make_tar, sha


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), tmp_path / "root")
    await s.load_state()
    return s


def layer(name: str, size: int) -> bytes:
    return make_tar({name: b"x" * size})


async def add(
    store: ImageStore,
    layers: list[bytes],
    tags: list[str] = (),  # type: ignore[assignment]
    *,
    created: str = "2024-01-01T00:00:00Z",
    parent: str = "",
    refs: list[Reference] = (),  # type: ignore[assignment]
    **extra: object,
) -> str:
    """An image made of these layers, with its names and local parent, as commit makes one."""
    config = image_config([sha(t) for t in layers], created=created, **extra)
    chain, pinned = "", []
    for tar in layers:
        row = await store.register_layer(chunks(tar), chain)
        chain = row.chain_id
        pinned.append(chain)
    image = await store.create_image(config, refs=refs, parent=parent)
    for pin in pinned:
        await store.release_layer(pin)
    for tag in tags:
        repo, _, name = tag.partition(":")
        await store.tag(image.id, repo, name)
    return image.id


BASE = layer("base", 1000)


async def test_default_prunes_only_dangling_images(store: ImageStore) -> None:
    users = Users()
    tagged = await add(store, [BASE], ["keep:1"])
    dangling = await add(store, [BASE, layer("d", 300)], created="2024-01-02T00:00:00Z")
    dangling_top = store.get(dangling).chain_ids[-1]
    digest = "reg.example/app@sha256:" + "c" * 64
    digest_only = await add(
        store, [layer("g", 50)], refs=[parse(digest)], created="2024-01-03T00:00:00Z"
    )
    used = await add(store, [layer("u", 70)], created="2024-01-04T00:00:00Z")
    users.by_image[used] = ("c" * 64, False)
    report = await prune_images(store, {}, users)
    assert report.deleted == [
        {"Untagged": digest},
        {"Deleted": digest_only},
        {"Deleted": sha(layer("g", 50))},
        {"Deleted": dangling},
        {"Deleted": dangling_top},
    ]
    assert report.space_reclaimed == 300 + 50  # the shared base layer stays
    assert {i.id for i in store.all()} == {tagged, used}


async def test_intermediate_images_go_with_their_child(store: ImageStore) -> None:
    top = layer("top", 10)
    parent = await add(store, [BASE], created="2024-01-01T00:00:00Z")
    child = await add(store, [BASE, top], created="2024-01-02T00:00:00Z", parent=parent)
    assert store.get(child).parent == parent
    report = await prune_images(store, {})
    deleted = [r["Deleted"] for r in report.deleted]
    assert deleted[0] == child and parent in deleted
    assert report.space_reclaimed == 1000 + 10
    assert store.all() == []


async def test_untagged_parent_of_a_tagged_image_is_kept(store: ImageStore) -> None:
    parent = await add(store, [BASE])
    await add(store, [BASE, layer("t", 5)], ["app:1"], parent=parent)
    assert (await prune_images(store, {})).to_api() == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    all_report = await prune_images(store, {"dangling": ["false"]})
    assert all_report.deleted[0] == {"Untagged": "app:1"}
    assert all_report.space_reclaimed == 1000 + 5
    assert store.all() == []


async def test_prune_all_spares_images_in_use(store: ImageStore) -> None:
    users = Users()
    running = await add(store, [layer("r", 10)], ["running:1"])
    stopped = await add(store, [layer("s", 20)], created="2024-01-02T00:00:00Z")
    two_tags = await add(store, [layer("t", 30)], ["a:1", "b:1"], created="2024-01-03T00:00:00Z")
    unused = await add(store, [layer("n", 40)], ["unused:1"], created="2024-01-04T00:00:00Z")
    users.by_image = {
        running: ("1" * 64, True),
        stopped: ("2" * 64, False),
        two_tags: ("3" * 64, False),
    }
    report = await prune_images(store, {"dangling": ["false"]}, users)
    # dockerd removes names one by one: the first of two is untagged, the last is refused
    assert report.deleted == [
        {"Untagged": "unused:1"},
        {"Deleted": unused},
        {"Deleted": sha(layer("n", 40))},
        {"Untagged": "a:1"},
    ]
    assert report.space_reclaimed == 40
    assert {i.id for i in store.all()} == {running, stopped, two_tags}
    assert store.get(two_tags).repo_tags == ["b:1"]


async def test_until_and_label_filters(store: ImageStore) -> None:
    old = await add(store, [layer("o", 1)], created="2020-01-01T00:00:00Z", labels={"k": "v"})
    new = await add(store, [layer("n", 2)], created="2030-01-01T00:00:00Z", labels={"k": "w"})
    bare = await add(store, [layer("b", 3)], created="2020-01-01T00:00:00Z")
    report = await prune_images(store, {"until": ["2025-01-01T00:00:00Z"], "label": ["k=v"]})
    assert report.deleted == [{"Deleted": old}, {"Deleted": sha(layer("o", 1))}]
    assert {i.id for i in store.all()} == {new, bare}
    # label! excludes only images that match every label! entry
    report = await prune_images(store, {"label!": ["k=w", "other"]})
    assert {i.id for i in store.all()} == set()
    assert report.space_reclaimed == 2 + 3


async def test_labels_do_not_exclude_an_image_without_runtime_config(store: ImageStore) -> None:
    await add(store, [layer("x", 1)], config=None)
    report = await prune_images(store, {"label": ["anything"]})
    assert len(report.deleted) == 2


async def test_bad_filters(store: ImageStore) -> None:
    with pytest.raises(InvalidParameter, match="invalid filter 'reference'"):
        await prune_images(store, {"reference": ["x"]})
    with pytest.raises(InvalidParameter, match="invalid filter 'dangling=maybe'"):
        await prune_images(store, {"dangling": ["maybe"]})
    with pytest.raises(InvalidParameter, match="more than one until filter specified"):
        await prune_images(store, {"until": ["1h", "2h"]})
    with pytest.raises(InvalidParameter, match="invalid value for 'until' filter"):
        await prune_images(store, {"until": ["soon"]})


async def test_one_prune_at_a_time(store: ImageStore) -> None:
    await add(store, [layer("x", 1)])
    gate = asyncio.Event()
    original = store.delete

    async def slow_delete(*args, **kwargs):
        await gate.wait()
        return await original(*args, **kwargs)

    store.delete = slow_delete  # type: ignore[method-assign]
    first = asyncio.ensure_future(prune_images(store, {}))
    await asyncio.sleep(0)
    with pytest.raises(Conflict, match="a prune operation is already running"):
        await prune_images(store, {})
    gate.set()
    assert len((await first).deleted) == 2
    assert (await prune_images(store, {})).deleted == []


def test_filter_helpers() -> None:
    assert get_bool_or_default({}, "dangling", True) is True
    assert get_bool_or_default({"dangling": ["false"]}, "dangling", True) is False
    assert get_bool_or_default({"dangling": ["1", "junk"]}, "dangling", False) is True
    with pytest.raises(InvalidParameter):
        get_bool_or_default({"dangling": ["true", "0"]}, "dangling", False)
    with pytest.raises(InvalidParameter):
        get_bool_or_default({"dangling": ["True"]}, "dangling", False)  # exact, as dockerd
    assert match_kv_list([], {})
    assert not match_kv_list(["a"], {})
    assert match_kv_list(["a", "b=c"], {"a": "", "b": "c"})
    assert not match_kv_list(["b=d"], {"b": "c"})


def test_parse_until() -> None:
    now = 1_700_000_000.0
    assert parse_until("10m", now) == now - 600
    assert parse_until("1h30m", now) == now - 5400
    assert parse_until("1.5s", now) == now - 1.5
    assert parse_until("1699999999", now) == 1699999999.0
    assert parse_until("1699999999.5", now) == 1699999999.5
    assert parse_until("2024-01-01T00:00:00Z", now) == 1704067200.0
    assert parse_until("2024-01-01T02:00:00+02:00", now) == 1704067200.0
    assert parse_until("2024-01-01T00:00:00.25Z", now) == 1704067200.25
    local = time.mktime((2024, 1, 1, 0, 0, 0, 0, 0, -1))
    assert parse_until("2024-01-01", now) == local
    assert parse_until("2024-01-01T00:00", now) == local
    assert calendar.timegm((2024, 1, 1, 0, 0, 0)) == 1704067200
    with pytest.raises(InvalidParameter, match="failed to parse value as time or duration"):
        parse_until("tomorrow", now)


# -- HTTP ------------------------------------------------------------------------------------


class _Containers:
    def __init__(self) -> None:
        self.users = Users()

    def image_in_use(self, image_id: str) -> tuple[str, bool] | None:
        return self.users(image_id)


@pytest.fixture
async def api(store: ImageStore):
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app[IMAGES] = store
    app[CONTAINERS] = _Containers()  # type: ignore[assignment]
    register_routes(app, image_routes.ROUTES)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def test_http_prune(api: TestClient, store: ImageStore) -> None:
    used = await add(store, [layer("u", 7)])
    gone = await add(store, [layer("g", 9)], created="2024-01-02T00:00:00Z")
    api.server.app[CONTAINERS].users.by_image[used] = ("f" * 64, True)  # type: ignore[attr-defined]
    response = await api.post("/v1.51/images/prune", params={"filters": '{"dangling":["true"]}'})
    assert response.status == 200
    assert await response.json() == {
        "ImagesDeleted": [{"Deleted": gone}, {"Deleted": sha(layer("g", 9))}],
        "SpaceReclaimed": 9,
    }
    empty = await api.post("/v1.51/images/prune")
    assert await empty.json() == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    bad = await api.post("/v1.51/images/prune", params={"filters": '{"bogus":["1"]}'})
    assert bad.status == 400
    assert await bad.json() == {"message": "invalid filter 'bogus'"}
