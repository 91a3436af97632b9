"""images/history.py: dockerd's ImageHistory rows from the config, layer sizes and lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import CONTAINERS, IMAGES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import images as image_routes
from dockerpy_engine.errdefs import NoSuchImage, NotFound, System
from dockerpy_engine.images import ImageStore
from dockerpy_engine.images.history import MISSING, Lineage, build_history, image_history
from dockerpy_engine.images.platforms import Platform
from dockerpy_engine.store.db import Database

from .test_store import chunks, make_tar, save_archive, sha

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64

CONFIG = {
    "history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in /"},
        {"created": "2024-01-02T00:00:00.9Z", "created_by": "ENV A=b", "empty_layer": True},
        {
            "created": "2024-01-03T00:00:00Z",
            "created_by": "sh -c touch /f",
            "comment": "a commit",
            "author": "me",
        },
    ]
}


def test_rows_newest_first_with_sizes_and_empty_layers() -> None:
    rows = [r.to_api() for r in build_history(CONFIG, [1000, 20], [Lineage(A, ["app:1"])])]
    assert rows == [
        {
            "Id": A,
            "Created": 1704240000,
            "CreatedBy": "sh -c touch /f",
            "Tags": ["app:1"],
            "Size": 20,
            "Comment": "a commit",
        },
        {
            "Id": MISSING,
            "Created": 1704153600,  # fractions dropped, as time.Time.Unix()
            "CreatedBy": "ENV A=b",
            "Tags": None,
            "Size": 0,
            "Comment": "",
        },
        {
            "Id": MISSING,
            "Created": 1704067200,
            "CreatedBy": "/bin/sh -c #(nop) ADD file:x in /",
            "Tags": None,
            "Size": 1000,
            "Comment": "",
        },
    ]


def test_ids_follow_the_parent_chain_from_the_top() -> None:
    rows = build_history(CONFIG, [1000, 20], [Lineage(A, []), Lineage(B, ["base:1", "base:2"])])
    assert [(r.id, r.tags) for r in rows] == [(A, None), (B, ["base:1", "base:2"]), (MISSING, None)]


def test_edge_cases() -> None:
    assert build_history({}, [5], [Lineage(A)]) == []  # no history: an empty list, as dockerd
    no_time = build_history({"history": [{"created_by": "x"}]}, [5], [Lineage(A)])
    assert no_time[0].created == 0 and no_time[0].size == 5
    with pytest.raises(System, match="too many non-empty layers in History section"):
        build_history({"history": [{}, {}]}, [5], [Lineage(A)])
    # fewer entries than layers is fine: the rest are not shown
    assert len(build_history({"history": [{}]}, [5, 6], [Lineage(A)])) == 1


# -- from the store ---------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), tmp_path / "root")
    await s.load_state()
    return s


BASE = make_tar({"etc": None, "etc/passwd": b"root:x:0:0::/root:/bin/sh\n"})
TOP = make_tar({"f": b"12345"})


async def _committed(store: ImageStore) -> tuple[str, str]:
    """busybox-like `base:1`, then a child recorded with it as parent, as docker commit does."""
    base = await store.import_image(chunks(BASE), "base:1", [], "", None)
    layer = await store.register_layer(chunks(TOP), base.chain_ids[-1])
    document = dict(base.config)
    document["rootfs"] = {"type": "layers", "diff_ids": [sha(BASE), sha(TOP)]}
    document["history"] = [
        *base.config["history"],
        {"created": "2024-05-01T00:00:00Z", "created_by": "sh -c touch /f", "comment": "c"},
    ]
    child = await store.create_image(json.dumps(document).encode(), parent=base.id)
    await store.release_layer(layer.chain_id)
    await store.tag(child.id, "child", "1")
    return base.id, child.id


async def test_history_of_a_committed_image(store: ImageStore) -> None:
    base_id, child_id = await _committed(store)
    rows = image_history(store, "child:1")
    assert [(r["Id"], r["Tags"], r["CreatedBy"], r["Comment"]) for r in rows] == [
        (child_id, ["child:1"], "sh -c touch /f", "c"),
        (base_id, ["base:1"], "", "Imported from -"),
    ]
    assert rows[0]["Size"] == len(b"12345")
    assert rows[1]["Size"] == store.get("base:1").size
    # untagging the parent keeps it (a child depends on it): its row keeps the ID, no tags
    await store.delete("base:1")
    rows = image_history(store, child_id[7:19])
    assert [(r["Id"], r["Tags"]) for r in rows] == [(child_id, ["child:1"]), (base_id, None)]


async def test_loaded_images_have_missing_ids_below_the_top(store: ImageStore) -> None:
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "created": "2024-01-02T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": [sha(BASE), sha(TOP)]},
            "history": [{"created": "2024-01-01T00:00:00Z"}, {"created": "2024-01-02T00:00:00Z"}],
        }
    ).encode()
    await store.load_archive(chunks(save_archive([(config, [BASE, TOP], ["loaded:1"])])))
    rows = image_history(store, "loaded:1")
    assert [r["Id"] for r in rows] == [sha(config), MISSING]


async def test_history_errors(store: ImageStore) -> None:
    await _committed(store)
    with pytest.raises(NoSuchImage):
        image_history(store, "nope")
    with pytest.raises(NotFound, match="does not match the specified platform"):
        image_history(store, "child:1", Platform("windows", "amd64"))


# -- HTTP ------------------------------------------------------------------------------------


class _Containers:
    def image_in_use(self, image_id: str) -> tuple[str, bool] | None:
        return None


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


async def test_http_history(api: TestClient, store: ImageStore) -> None:
    _, child_id = await _committed(store)
    response = await api.get("/v1.51/images/child:1/history")
    assert response.status == 200
    rows = await response.json()
    assert list(rows[0]) == ["Id", "Created", "CreatedBy", "Tags", "Size", "Comment"]
    assert rows[0]["Id"] == child_id
    missing = await api.get("/v1.51/images/nope/history")
    assert missing.status == 404
    assert await missing.json() == {"message": "No such image: nope:latest"}
    arm = '{"os":"linux","architecture":"arm64"}'
    assert (await api.get("/v1.51/images/child:1/history", params={"platform": arm})).status == 404
