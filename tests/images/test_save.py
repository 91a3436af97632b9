"""images/save.py: docker save's two layouts, name resolution, streaming, and the HTTP edge."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import CONTAINERS, IMAGES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import images as image_routes
from dockerpy_engine.errdefs import InvalidParameter, NoSuchImage, NotFound, System
from dockerpy_engine.images import ImageStore
from dockerpy_engine.images.platforms import Platform
from dockerpy_engine.images.save import CHUNK, go_json, save_archive
from dockerpy_engine.store.db import Database

from .test_store import chunks, image_config, make_tar, sha
from .test_store import save_archive as docker_archive

BASE = make_tar({"bin": None, "bin/sh": b"#!/bin/true\n", "etc": None})
TOP = make_tar({"hello.txt": b"hello\n"})


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), tmp_path / "root")
    await s.load_state()
    return s


async def load(store: ImageStore, images: list[tuple[bytes, list[bytes], list[str]]]) -> None:
    await store.load_archive(chunks(docker_archive(images)))


async def saved(store: ImageStore, names: list[str], platform: Platform | None = None) -> bytes:
    async with save_archive(store, names, platform) as stream:
        return b"".join([chunk async for chunk in stream])


def members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: m for m in tar.getmembers()}


def read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


def read_json(archive: bytes, name: str) -> Any:
    return json.loads(read(archive, name))


@pytest.fixture
async def two_images(store: ImageStore) -> tuple[bytes, bytes]:
    """`base:1` (one layer) and `app:1` + `app:2` (that layer plus one of its own)."""
    base = image_config([sha(BASE)], created="2024-01-01T00:00:00Z")
    app = image_config([sha(BASE), sha(TOP)], created="2024-02-01T00:00:00Z")
    await load(store, [(base, [BASE], ["base:1"]), (app, [BASE, TOP], ["app:1", "app:2"])])
    return base, app


# -- the layouts ---------------------------------------------------------------------------


async def test_archive_holds_both_layouts(store: ImageStore, two_images) -> None:
    base, app = two_images
    archive = await saved(store, ["base:1", "app"])
    names = list(members(archive))
    blobs = [n for n in names if n.startswith("blobs/sha256/")]
    assert names[:2] == ["blobs", "blobs/sha256"]  # tarfile drops the trailing slash
    assert archive.startswith(b"blobs/\0")
    assert blobs == sorted(blobs)
    assert names[2 + len(blobs) :] == ["index.json", "manifest.json", "oci-layout", "repositories"]
    # configs, the two layer tars (the shared one once) and one OCI manifest per image
    assert len(blobs) == 2 + 2 + 2
    assert read(archive, "oci-layout") == b'{"imageLayoutVersion": "1.0.0"}'
    for name in blobs:
        assert sha(read(archive, name)) == "sha256:" + name.rsplit("/", 1)[1]
    assert read(archive, f"blobs/sha256/{sha(BASE)[7:]}") == BASE
    assert read(archive, f"blobs/sha256/{sha(TOP)[7:]}") == TOP

    manifest = read_json(archive, "manifest.json")
    assert read(archive, "manifest.json").endswith(b"]\n")  # json.Encoder's newline
    assert manifest == [
        {
            "Config": f"blobs/sha256/{sha(base)[7:]}",
            "RepoTags": ["base:1"],
            "Layers": [f"blobs/sha256/{sha(BASE)[7:]}"],
        },
        {
            "Config": f"blobs/sha256/{sha(app)[7:]}",
            "RepoTags": ["app:1", "app:2"],
            "Layers": [f"blobs/sha256/{sha(BASE)[7:]}", f"blobs/sha256/{sha(TOP)[7:]}"],
        },
    ]
    assert read_json(archive, "repositories") == {
        "app": {"1": sha(TOP)[7:], "2": sha(TOP)[7:]},
        "base": {"1": sha(BASE)[7:]},
    }

    index = read_json(archive, "index.json")
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    refs = [d["annotations"] for d in index["manifests"]]
    assert refs == [
        {
            "io.containerd.image.name": "docker.io/library/base:1",
            "org.opencontainers.image.ref.name": "1",
        },
        {
            "io.containerd.image.name": "docker.io/library/app:1",
            "org.opencontainers.image.ref.name": "1",
        },
        {
            "io.containerd.image.name": "docker.io/library/app:2",
            "org.opencontainers.image.ref.name": "2",
        },
    ]
    descriptor = index["manifests"][1]
    assert list(descriptor) == ["mediaType", "digest", "size", "annotations", "platform"]
    assert descriptor["platform"] == {"architecture": "amd64", "os": "linux"}
    raw = read(archive, "blobs/sha256/" + descriptor["digest"][7:])
    assert len(raw) == descriptor["size"]
    oci = json.loads(raw)
    assert list(oci) == ["schemaVersion", "mediaType", "config", "layers"]
    assert oci["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert oci["config"] == {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": sha(app),
        "size": len(app),
        "platform": {"architecture": "amd64", "os": "linux"},
    }
    assert oci["layers"] == [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(t), "size": len(t)}
        for t in (BASE, TOP)
    ]


async def test_tar_is_go_shaped(store: ImageStore, two_images) -> None:
    archive = await saved(store, ["base:1"])
    assert len(archive) % 512 == 0
    assert archive.endswith(b"\0" * 1024)
    info = members(archive)
    assert info["blobs"].isdir() and info["blobs"].mode == 0o755
    config = next(m for n, m in info.items() if n.startswith("blobs/sha256/") and m.size < 1000)
    assert config.mode == 0o644 and config.uid == 0 and config.uname == ""
    assert info["manifest.json"].mtime == 0 and info["oci-layout"].mtime == 0
    assert info[f"blobs/sha256/{sha(BASE)[7:]}"].mtime == 1704067200  # the image's created


async def test_round_trip_keeps_ids(store: ImageStore, two_images) -> None:
    before = {i.id: sorted(i.repo_tags) for i in store.all()}
    archive = await saved(store, ["base", "app"])
    for image_id in list(before):
        await store.delete(image_id, force=True)
    assert store.all() == []
    lines = await store.load_archive(chunks(archive))
    assert lines == ["Loaded image: base:1", "Loaded image: app:1", "Loaded image: app:2"]
    assert {i.id: sorted(i.repo_tags) for i in store.all()} == before


async def test_the_oci_layout_alone_loads_too(store: ImageStore, two_images) -> None:
    _, app = two_images
    archive = await saved(store, ["app:2"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as src:
        kept = {
            m.name: src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            for m in src.getmembers()
            if m.name not in ("manifest.json", "repositories")
        }
    await store.delete("app:1", force=True)
    await store.delete("app:2", force=True)
    lines = await store.load_archive(chunks(make_tar(kept)))
    assert lines == ["Loaded image: app:2"]
    assert store.get("app:2").id == sha(app)


async def test_large_layers_stream_in_pieces(store: ImageStore) -> None:
    big = make_tar({"blob": bytes(range(256)) * (CHUNK // 256 + 3000)})
    config = image_config([sha(big)])
    await load(store, [(config, [big], ["big:1"])])
    async with save_archive(store, ["big:1"]) as stream:
        pieces = [chunk async for chunk in stream]
    assert len(pieces) > 2 and max(len(p) for p in pieces) <= CHUNK
    archive = b"".join(pieces)
    assert read(archive, f"blobs/sha256/{sha(big)[7:]}") == big


# -- names -----------------------------------------------------------------------------------


async def test_names_resolve_as_dockerd(store: ImageStore, two_images) -> None:
    base, app = two_images
    by_id = await saved(store, [sha(app)[7:19]])
    manifest = read_json(by_id, "manifest.json")
    assert manifest[0]["RepoTags"] is None
    assert "repositories" not in members(by_id)
    index = read_json(by_id, "index.json")
    assert [list(d) for d in index["manifests"]] == [["mediaType", "digest", "size", "platform"]]
    # the same image twice, a full ID and a tag: one entry, the tag kept
    twice = read_json(await saved(store, [sha(app), "app:1", "app:1"]), "manifest.json")
    assert [m["RepoTags"] for m in twice] == [["app:1"]]
    # a bare repository name: every tag of it
    assert read_json(await saved(store, ["app"]), "manifest.json")[0]["RepoTags"] == [
        "app:1",
        "app:2",
    ]
    # `sha256:` + short prefix, and a full `sha256:` ID
    assert len(read_json(await saved(store, ["sha256:" + sha(base)[7:15]]), "manifest.json")) == 1
    assert len(read_json(await saved(store, [sha(base)]), "manifest.json")) == 1


async def test_untagged_descriptors_only_when_nothing_is_tagged(
    store: ImageStore, two_images
) -> None:
    base, _ = two_images
    mixed = read_json(await saved(store, ["app:1", sha(base)]), "index.json")
    assert [d["annotations"]["org.opencontainers.image.ref.name"] for d in mixed["manifests"]] == [
        "1"
    ]
    assert len(read_json(await saved(store, ["app:1", sha(base)]), "manifest.json")) == 2


async def test_errors_before_the_first_byte(store: ImageStore, two_images) -> None:
    with pytest.raises(NoSuchImage, match=r"^No such image: nope$"):
        await saved(store, ["nope"])
    with pytest.raises(NotFound, match=r"^reference does not exist$"):
        await saved(store, ["app:3"])
    with pytest.raises(NotFound, match=r"^reference does not exist$"):
        await saved(store, ["base:1", "nope:1"])
    with pytest.raises(InvalidParameter, match="invalid reference format"):
        await saved(store, ["Bad Name"])
    with pytest.raises(NotFound, match="does not match the specified platform"):
        await saved(store, ["app:1"], Platform("linux", "arm64"))
    assert await saved(store, ["app:1"], Platform("linux", "amd64"))


async def test_image_without_layers_is_refused(store: ImageStore) -> None:
    image = await store.create_image(image_config([]))
    with pytest.raises(System, match="empty export - not implemented"):
        await saved(store, [image.id])


async def test_parent_is_recorded_only_when_saved_too(store: ImageStore, two_images) -> None:
    base, _ = two_images
    child_config = image_config([sha(BASE)], created="2024-03-01T00:00:00Z", comment="child")
    child = await store.create_image(child_config, parent=sha(base))
    both = read_json(await saved(store, [child.id, "base:1"]), "manifest.json")
    assert both[0]["Parent"] == sha(base) and "Parent" not in both[1]
    alone = read_json(await saved(store, [child.id]), "manifest.json")
    assert "Parent" not in alone[0]


# -- the stream's lifetime -------------------------------------------------------------------


async def test_a_delete_during_the_stream_does_not_cut_it(
    store: ImageStore, two_images, tmp_path: Path
) -> None:
    layer_dir = tmp_path / "root" / "layers" / sha(BASE)[7:]
    async with save_archive(store, ["base:1"]) as stream:
        await store.delete("base:1")
        await store.delete("app:1")
        await store.delete("app:2")
        assert store.all() == [] and layer_dir.is_dir()  # pinned while the stream lives
        archive = b"".join([chunk async for chunk in stream])
    assert read(archive, f"blobs/sha256/{sha(BASE)[7:]}") == BASE
    assert not layer_dir.exists()  # released at the end


async def test_closing_early_stops_the_writer(store: ImageStore) -> None:
    big = make_tar({"blob": b"x" * (CHUNK * 3)})
    await load(store, [(image_config([sha(big)]), [big], ["big:1"])])
    layer_dir = store.layer_dir(sha(big))
    async with save_archive(store, ["big:1"]) as stream:
        first = await stream.__anext__()
        assert first.startswith(b"blobs/")
        assert [t for t in threading.enumerate() if t.name == "image-save"]
        await store.delete("big:1")
    # the writer stopped (the context waited for it) and the pin went with it
    assert not [t for t in threading.enumerate() if t.name == "image-save"]
    assert store.all() == [] and not layer_dir.exists()


def test_go_json_escapes_like_encoding_json() -> None:
    assert go_json({"a": "<&>", "b": [1, None]}) == b'{"a":"\\u003c\\u0026\\u003e","b":[1,null]}'
    assert go_json([], newline=True) == b"[]\n"
    assert hashlib.sha256(go_json({"x": "é"})).hexdigest()  # UTF-8, not \u escapes


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


async def test_http_save(api: TestClient, two_images) -> None:
    response = await api.get("/v1.51/images/get", params=[("names", "base:1"), ("names", "app")])
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-tar"
    archive = await response.read()
    assert [m["RepoTags"] for m in read_json(archive, "manifest.json")] == [
        ["base:1"],
        ["app:1", "app:2"],
    ]
    single = await api.get("/images/app:1/get")
    assert read_json(await single.read(), "manifest.json")[0]["RepoTags"] == ["app:1"]
    missing = await api.get("/v1.51/images/nope/get")
    assert missing.status == 404
    assert await missing.json() == {"message": "No such image: nope"}
    bad = await api.get("/v1.51/images/app:1/get", params={"platform": "{"})
    assert bad.status == 400
    arm = '{"os":"linux","architecture":"arm64"}'
    assert (await api.get("/v1.51/images/app:1/get", params={"platform": arm})).status == 404
    # before API 1.48 the platform parameter does not exist
    assert (await api.get("/v1.47/images/app:1/get", params={"platform": arm})).status == 200


async def test_http_client_gone_mid_stream(api: TestClient, store: ImageStore) -> None:
    big = make_tar({"blob": b"y" * (CHUNK * 4)})
    await load(store, [(image_config([sha(big)]), [big], ["big:1"])])
    response = await api.get("/v1.51/images/big:1/get")
    assert response.status == 200
    assert (await response.content.read(1024)).startswith(b"blobs/")
    response.close()  # hang up with most of the archive unsent
    for _ in range(200):
        if not [t for t in threading.enumerate() if t.name == "image-save"]:
            break
        await asyncio.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name == "image-save"]
    await store.delete("big:1")
    # the handler drops the save's pin as it winds down, which may come after the delete:
    # then the release removes the layer
    for _ in range(200):
        if not store.layer_dir(sha(big)).exists():
            break
        await asyncio.sleep(0.05)
    assert not store.layer_dir(sha(big)).exists()
