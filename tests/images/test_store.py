"""The image store on a temp data root: import, load, tag, delete, list, recovery, rootfs reads."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import IMAGES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import images as image_routes
from dockerpy_engine.errdefs import Conflict, InvalidParameter, NoSuchImage
from dockerpy_engine.images import ImageStore
from dockerpy_engine.images.delete import short_id
from dockerpy_engine.store.db import Database

SWAGGER = Path(__file__).resolve().parents[3] / "shared/reference/docker-engine-api/v1.51.yaml"


# -- helpers -----------------------------------------------------------------------


def make_tar(files: dict[str, bytes | str | None], extra: list[tarfile.TarInfo] = ()) -> bytes:
    """name -> bytes (file), str (symlink target) or None (directory)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
        for info in extra:
            tar.addfile(info)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def chunks(data: bytes, size: int = 7001) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def image_config(diff_ids: list[str], **extra: object) -> bytes:
    doc = {
        "architecture": "amd64",
        "config": {"Cmd": ["sh"], "Labels": extra.pop("labels", None)},
        "created": extra.pop("created", "2024-01-02T03:04:05.123456789Z"),
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        **extra,
    }
    return json.dumps(doc).encode()


def save_archive(
    images: list[tuple[bytes, list[bytes], list[str]]],
    *,
    compress_layers: bool = False,
    extra_members: dict[str, bytes | str | None] | None = None,
) -> bytes:
    """A `docker save`-style archive: blobs/sha256/* plus manifest.json."""
    files: dict[str, bytes | str | None] = {"blobs": None, "blobs/sha256": None}
    manifest = []
    for config, layer_tars, tags in images:
        files[f"blobs/sha256/{sha(config)[7:]}"] = config
        paths = []
        for layer in layer_tars:
            blob = gzip.compress(layer) if compress_layers else layer
            files[f"blobs/sha256/{sha(blob)[7:]}"] = blob
            paths.append(f"blobs/sha256/{sha(blob)[7:]}")
        manifest.append(
            {"Config": f"blobs/sha256/{sha(config)[7:]}", "RepoTags": tags, "Layers": paths}
        )
    files["manifest.json"] = json.dumps(manifest).encode()
    files.update(extra_members or {})
    return make_tar(files)


class Users:
    """A fake container registry for delete's in_use callback."""

    def __init__(self) -> None:
        self.by_image: dict[str, tuple[str, bool]] = {}

    def __call__(self, image_id: str) -> tuple[str, bool] | None:
        return self.by_image.get(image_id)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
async def store(tmp_path: Path, root: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), root)
    await s.load_state()
    return s


async def reopen(tmp_path: Path, root: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), root)
    await s.load_state()
    return s


ROOTFS = make_tar({"etc": None, "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n", "bin": None})


# -- import ------------------------------------------------------------------------


async def test_import_creates_image_layer_and_blob(store: ImageStore, root: Path) -> None:
    image = await store.import_image(
        chunks(gzip.compress(ROOTFS)), "myimg:1", ['CMD ["sh"]', "ENV A=b"], "", None
    )
    assert image.repo_tags == ["myimg:1"]
    assert image.diff_ids == [sha(ROOTFS)]
    assert image.config["comment"] == "Imported from -"
    assert image.config["history"][0]["comment"] == "Imported from -"
    assert image.config["os"] == "linux" and image.config["architecture"]
    assert image.container_config == {"Cmd": ["sh"], "Env": ["A=b"]}
    blob = root / "image/blobs/sha256" / image.id[7:]
    assert sha(blob.read_bytes()) == image.id
    layer_dir = root / "layers" / sha(ROOTFS)[7:]
    assert (layer_dir / "diff/etc/passwd").read_bytes().startswith(b"root:")
    assert (layer_dir / "layer.tar").read_bytes() == ROOTFS
    assert store.lower_dirs(image) == [layer_dir / "diff"]
    assert image.size == len(b"root:x:0:0:root:/root:/bin/sh\n")
    assert image.last_tag_time
    assert os.listdir(root / "tmp") == []


async def test_get_by_every_kind_of_name(store: ImageStore) -> None:
    image = await store.import_image(chunks(ROOTFS), "myimg", [], "hello", None)
    assert image.config["comment"] == "hello"
    for name in ("myimg", "myimg:latest", "docker.io/library/myimg", image.id, image.id[7:]):
        assert store.get(name) is image
    assert store.get(image.id[7:9]) is image
    assert store.get("sha256:" + image.id[7:12]) is image
    with pytest.raises(NoSuchImage, match=r"^No such image: nothere:latest$"):
        store.get("nothere")
    with pytest.raises(NoSuchImage, match="No such image: other:1"):
        store.get("other:1")
    with pytest.raises(InvalidParameter, match="must be lowercase"):
        store.get("UPPER")


async def test_import_refuses_bad_input_before_reading(store: ImageStore) -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("body must not be read")
        yield b""

    with pytest.raises(InvalidParameter, match="run is not a valid change command"):
        await store.import_image(never(), None, ["RUN x"], "", None)
    with pytest.raises(InvalidParameter, match="operating system is not supported"):
        await store.import_image(never(), None, [], "", "windows/amd64")
    with pytest.raises(InvalidParameter, match="invalid reference format"):
        await store.import_image(never(), "bad:tag:x", [], "", None)


async def test_failed_import_leaves_nothing(store: ImageStore, root: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield ROOTFS[:1024]
        raise ConnectionResetError("client went away")

    with pytest.raises(InvalidParameter):
        await store.import_image(broken(), "x", [], "", None)
    assert store.list() == []
    assert os.listdir(root / "tmp") == []
    assert os.listdir(root / "layers") == []


async def test_hostile_import_stays_in_the_layer(store: ImageStore, tmp_path: Path) -> None:
    """`..` stops at the layer's root, as in dockerd's chrooted unpack."""
    evil = make_tar({"../../escaped": b"x"})
    image = await store.import_image(chunks(evil), None, [], "", None)
    assert not (tmp_path / "escaped").exists()
    assert store.read_file(image, "/escaped") == b"x"


# -- persistence and recovery -----------------------------------------------------------


async def test_state_survives_restart(store: ImageStore, tmp_path: Path, root: Path) -> None:
    image = await store.import_image(chunks(ROOTFS), "persist:1", [], "", None)
    again = await reopen(tmp_path, root)
    loaded = again.get("persist:1")
    assert loaded.id == image.id and loaded.repo_tags == ["persist:1"]
    assert loaded.last_tag_time == image.last_tag_time
    assert again.lower_dirs(loaded) == store.lower_dirs(image)


async def test_recovery_removes_leftovers(store: ImageStore, tmp_path: Path, root: Path) -> None:
    image = await store.import_image(chunks(ROOTFS), "keep", [], "", None)
    (root / "tmp/layer-dead/diff").mkdir(parents=True)
    (root / "layers/deadbeef/diff").mkdir(parents=True)
    (root / "image/blobs/sha256" / ("0" * 64)).write_bytes(b"{}")
    blob = root / "image/blobs/sha256" / image.id[7:]
    blob.unlink()
    await reopen(tmp_path, root)
    assert os.listdir(root / "tmp") == []
    assert os.listdir(root / "layers") == [sha(ROOTFS)[7:]]
    assert os.listdir(root / "image/blobs/sha256") == [image.id[7:]]
    assert sha(blob.read_bytes()) == image.id


# -- tag -----------------------------------------------------------------------------


async def test_tag_and_move_tag(store: ImageStore) -> None:
    a = await store.import_image(chunks(ROOTFS), "a", [], "one", None)
    b = await store.import_image(chunks(ROOTFS), None, [], "two", None)
    await store.tag(a.id, "localhost:5000/x", "1")
    await store.tag("a", "shared")
    # dockerd's order: lexical by the full reference (docker.io/library/… < localhost:5000/…)
    assert a.repo_tags == ["a:latest", "shared:latest", "localhost:5000/x:1"]
    await store.tag(b.id[7:19], "shared")
    assert a.repo_tags == ["a:latest", "localhost:5000/x:1"]
    assert b.repo_tags == ["shared:latest"]
    assert store.get("shared") is b
    with pytest.raises(InvalidParameter, match="ambiguous tag using digest algorithm"):
        await store.tag("a", "sha256", "abc")
    with pytest.raises(NoSuchImage):
        await store.tag("nope", "x")
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        await store.tag("a", "x", "-bad")


# -- delete ----------------------------------------------------------------------------


async def test_untag_then_delete_removes_unshared_layers(store: ImageStore, root: Path) -> None:
    image = await store.import_image(chunks(ROOTFS), "a:1", [], "", None)
    await store.tag("a:1", "b", "2")
    assert await store.delete("a:1") == [{"Untagged": "a:1"}]
    assert store.get(image.id).repo_tags == ["b:2"]
    records = await store.delete("b:2")
    assert records == [
        {"Untagged": "b:2"},
        {"Deleted": image.id},
        {"Deleted": sha(ROOTFS)},
    ]
    assert store.list() == []
    assert os.listdir(root / "layers") == []
    assert os.listdir(root / "image/blobs/sha256") == []


async def test_shared_layer_is_kept_while_used(store: ImageStore, root: Path) -> None:
    one = await store.import_image(chunks(ROOTFS), "one", [], "1", None)
    two = await store.import_image(chunks(ROOTFS), "two", [], "2", None)
    assert one.id != two.id and one.chain_ids == two.chain_ids
    assert len(os.listdir(root / "layers")) == 1
    assert await store.delete("one") == [{"Untagged": "one:latest"}, {"Deleted": one.id}]
    assert (root / "layers" / sha(ROOTFS)[7:] / "diff/etc/passwd").exists()
    records = await store.delete("two")
    assert {"Deleted": sha(ROOTFS)} in records


async def test_delete_conflicts_match_dockerd(store: ImageStore) -> None:
    # a name that is no hex prefix: "a" would be read as an ID prefix for 1 image in 16,
    # as dockerd's isImageIDPrefix does
    image = await store.import_image(chunks(ROOTFS), "zz", [], "", None)
    users = Users()
    cid = "c" * 64
    users.by_image[image.id] = (cid, False)
    with pytest.raises(Conflict) as info:
        await store.delete("zz", in_use=users)
    assert info.value.message == (
        f'conflict: unable to remove repository reference "zz" (must force) - '
        f"container {cid[:12]} is using its referenced image {short_id(image.id)}"
    )
    with pytest.raises(Conflict) as info:
        await store.delete(image.id[7:19], in_use=users)
    assert info.value.message == (
        f"conflict: unable to delete {short_id(image.id)} (must be forced) - "
        f"image is being used by stopped container {cid[:12]}"
    )
    users.by_image[image.id] = (cid, True)
    with pytest.raises(Conflict) as info:
        await store.delete(image.id, force=True, in_use=users)
    assert info.value.message == (
        f"conflict: unable to delete {short_id(image.id)} (cannot be forced) - "
        f"image is being used by running container {cid[:12]}"
    )
    await store.tag("zz", "other")
    del users.by_image[image.id]
    with pytest.raises(Conflict) as info:
        await store.delete(image.id, in_use=users)
    assert info.value.message == (
        f"conflict: unable to delete {short_id(image.id)} (must be forced) - "
        "image is referenced in multiple repositories"
    )
    records = await store.delete(image.id, force=True, in_use=users)
    assert records[:3] == [
        {"Untagged": "other:latest"},  # lexical order of the full references
        {"Untagged": "zz:latest"},
        {"Deleted": image.id},
    ]
    with pytest.raises(NoSuchImage):
        await store.delete("zz")


async def test_delete_by_id_with_single_tag_untags_it(store: ImageStore) -> None:
    image = await store.import_image(chunks(ROOTFS), "solo:1", [], "", None)
    records = await store.delete(image.id[7:15])
    assert records[:2] == [{"Untagged": "solo:1"}, {"Deleted": image.id}]


async def test_forced_delete_keeps_layers_held_by_a_container(
    store: ImageStore, root: Path
) -> None:
    image = await store.import_image(chunks(ROOTFS), "held", [], "", None)
    await store.hold_layers("ctr1", image)
    users = Users()
    users.by_image[image.id] = ("ctr1", False)
    records = await store.delete("held", force=True, in_use=users)
    assert records == [{"Untagged": "held:latest"}, {"Deleted": image.id}]
    diff = root / "layers" / sha(ROOTFS)[7:] / "diff"
    assert diff.is_dir()
    await store.release_holds("ctr1")
    assert not diff.exists()


# -- list ------------------------------------------------------------------------------


async def _load_one(store: ImageStore, config: bytes, layer: bytes, tags: list[str]) -> None:
    await store.load_archive(chunks(save_archive([(config, [layer], tags)])))


async def test_list_filters(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    old = image_config([sha(layer)], created="2020-01-01T00:00:00Z", labels={"tier": "db"})
    mid = image_config([sha(layer)], created="2021-01-01T00:00:00Z", labels={"tier": "web"})
    new = image_config([sha(layer)], created="2022-01-01T00:00:00.5Z")
    await _load_one(store, old, layer, ["old:1"])
    await _load_one(store, mid, layer, ["mid:1", "localhost:5000/mid:2"])
    await _load_one(store, new, layer, [])
    names = lambda images: [i.repo_tags for i in images]  # noqa: E731
    assert names(store.list()) == [[], ["mid:1", "localhost:5000/mid:2"], ["old:1"]]
    assert names(store.list({"dangling": ["true"]})) == [[]]
    assert names(store.list({"dangling": ["false"]})) == [
        ["mid:1", "localhost:5000/mid:2"],
        ["old:1"],
    ]
    assert names(store.list({"label": ["tier"]})) == [["mid:1", "localhost:5000/mid:2"], ["old:1"]]
    assert names(store.list({"label": ["tier=db"]})) == [["old:1"]]
    assert names(store.list({"reference": ["mid"]})) == [["mid:1"]]
    assert names(store.list({"reference": ["*/mid:*"]})) == [["localhost:5000/mid:2"]]
    assert store.get("mid:1").repo_tags == ["mid:1", "localhost:5000/mid:2"]  # not narrowed
    assert names(store.list({"before": ["mid:1"]})) == [["old:1"]]
    assert names(store.list({"since": ["mid:1"]})) == [[]]
    with pytest.raises(InvalidParameter, match="invalid filter 'bogus'"):
        store.list({"bogus": ["x"]})
    with pytest.raises(InvalidParameter, match="invalid filter 'dangling=maybe'"):
        store.list({"dangling": ["maybe"]})
    with pytest.raises(NoSuchImage):
        store.list({"before": ["nothere"]})


async def test_list_all_shows_intermediate_images_and_shared_sizes(store: ImageStore) -> None:
    base_layer, top_layer = make_tar({"b": b"1" * 100}), make_tar({"t": b"2" * 10})
    parent_config = image_config([sha(base_layer)], created="2020-01-01T00:00:00Z")
    await store.load_archive(chunks(save_archive([(parent_config, [base_layer], [])])))
    child_config = image_config([sha(base_layer), sha(top_layer)])
    row = await store.register_layer(chunks(top_layer), sha(base_layer))
    child = await store.create_image(child_config, parent=sha(parent_config))
    await store.release_layer(row.chain_id)
    await store.tag(child.id, "child", "1")
    # an untagged parent with a child is an intermediate image: only `all` shows it
    assert [i.id for i in store.list()] == [child.id]
    assert [i.id for i in store.list(all=True)] == [child.id, sha(parent_config)]
    assert store.list({"dangling": ["true"]}, all=True) == []
    assert store.shared_sizes(store.list(all=True)) == {child.id: 100, sha(parent_config): 100}
    assert store.to_api_summary(child, shared_size=100)["SharedSize"] == 100


async def test_http_list_by_api_version(store: ImageStore) -> None:
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app[IMAGES] = store
    register_routes(app, image_routes.ROUTES)
    untagged = await store.import_image(chunks(ROOTFS), None, [], "", None)
    await store.import_image(chunks(ROOTFS), "tagged:1", [], "", None)
    async with TestClient(TestServer(app)) as client:
        new = await (await client.get("/v1.51/images/json", params={"shared-size": "1"})).json()
        assert [(i["RepoTags"], i["SharedSize"]) for i in new] == [
            (["tagged:1"], len(b"root:x:0:0:root:/root:/bin/sh\n")),
            ([], len(b"root:x:0:0:root:/root:/bin/sh\n")),
        ]
        assert "VirtualSize" not in new[0]
        old = await (await client.get("/v1.40/images/json", params={"filter": "tag*"})).json()
        assert [i["RepoTags"] for i in old] == [["tagged:1"]]
        assert old[0]["VirtualSize"] == old[0]["Size"] and old[0]["SharedSize"] == -1
        none = await (await client.get("/v1.42/images/json")).json()
        by_id = {i["Id"]: i for i in none}
        assert by_id[untagged.id]["RepoTags"] == ["<none>:<none>"]
        assert by_id[untagged.id]["RepoDigests"] == ["<none>@<none>"]
        shared_ignored = await client.get("/v1.41/images/json", params={"shared-size": "1"})
        assert {i["SharedSize"] for i in await shared_ignored.json()} == {-1}


# -- API shapes -------------------------------------------------------------------------


def _swagger_block(name: str) -> str:
    text = SWAGGER.read_text()
    start = text.index(f"\n  {name}:\n")
    end = re.search(r"\n  [A-Za-z]+:\n", text[start + 3 :])
    return text[start : start + 3 + (end.start() if end else len(text))]


async def test_api_shapes_follow_swagger(store: ImageStore) -> None:
    if not SWAGGER.exists():
        pytest.skip("shared reference not available")
    image = await store.import_image(chunks(ROOTFS), "shape", ["LABEL a=b"], "", None)
    summary = store.to_api_summary(image)
    required = re.search(r"required:\n((?:\s+- \w+\n)+)", _swagger_block("ImageSummary"))
    assert required is not None
    assert set(summary) == set(re.findall(r"- (\w+)", required.group(1)))
    assert summary["Labels"] == {"a": "b"} and summary["SharedSize"] == -1
    assert isinstance(summary["Created"], int) and summary["Created"] > 1_600_000_000
    inspect = store.to_api_inspect(image)
    properties = set(re.findall(r"\n      (\w+):\n", _swagger_block("ImageInspect")))
    assert set(inspect) <= properties
    assert inspect["RootFS"] == {"Type": "layers", "Layers": [sha(ROOTFS)]}
    assert inspect["GraphDriver"]["Name"] == "overlay2"
    assert inspect["GraphDriver"]["Data"]["UpperDir"].endswith("/diff")
    assert inspect["Config"]["Labels"] == {"a": "b"}
    assert inspect["Config"]["Cmd"] is None and inspect["Config"]["User"] == ""
    assert inspect["Metadata"]["LastTagTime"] == image.last_tag_time
    untagged = await store.import_image(chunks(ROOTFS), None, [], "x", None)
    assert store.to_api_inspect(untagged)["Metadata"] == {"LastTagTime": "0001-01-01T00:00:00Z"}


# -- load --------------------------------------------------------------------------------


async def test_load_docker_save_archive(store: ImageStore) -> None:
    base = make_tar({"etc": None, "etc/passwd": b"root:x:0:0::/root:/bin/sh\n"})
    top = make_tar({"etc/hostname": b"box\n"})
    config = image_config([sha(base), sha(top)])
    seen: list[str] = []
    lines = await store.load_archive(
        chunks(save_archive([(config, [base, top], ["busybox:latest"])], compress_layers=True)),
        seen.append,
    )
    assert lines == ["Loaded image: busybox:latest"] == seen
    image = store.get("busybox")
    assert image.id == sha(config)
    assert len(store.lower_dirs(image)) == 2
    inspect = store.to_api_inspect(image)
    assert inspect["GraphDriver"]["Data"]["LowerDir"] == str(store.lower_dirs(image)[1])
    assert inspect["Metadata"]["LastTagTime"] == "0001-01-01T00:00:00Z"
    stored = b"".join([c async for c in store.iter_layer_tar(image.chain_ids[0])])
    assert sha(stored) == sha(base)


async def test_load_untagged_and_renamed(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    first = image_config([sha(layer)], created="2020-01-01T00:00:00Z")
    second = image_config([sha(layer)], created="2021-01-01T00:00:00Z")
    await _load_one(store, first, layer, ["app:1"])
    lines = await store.load_archive(
        chunks(save_archive([(second, [layer], ["app:1"]), (first, [layer], [])]))
    )
    assert lines == [
        f"The image app:1 already exists, renaming the old one with ID {sha(first)} "
        "to empty string",
        "Loaded image: app:1",
        f"Loaded image ID: {sha(first)}",
    ]
    assert store.get(sha(first)).repo_tags == []


async def test_load_legacy_layout_with_symlinked_layers(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    config = image_config([sha(layer), sha(layer)])
    files: dict[str, bytes | str | None] = {
        "aaa": None,
        "aaa/layer.tar": layer,
        "bbb": None,
        "bbb/layer.tar": "../aaa/layer.tar",
        f"{sha(config)[7:]}.json": config,
        "manifest.json": json.dumps(
            [
                {
                    "Config": f"{sha(config)[7:]}.json",
                    "RepoTags": ["legacy:1"],
                    "Layers": ["aaa/layer.tar", "bbb/layer.tar"],
                }
            ]
        ).encode(),
    }
    assert await store.load_archive(chunks(make_tar(files))) == ["Loaded image: legacy:1"]
    assert len(store.get("legacy:1").chain_ids) == 2


async def test_load_oci_layout(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    config = image_config([sha(layer)])
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"digest": sha(config), "size": len(config)},
            "layers": [{"digest": sha(layer), "size": len(layer)}],
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "digest": sha(manifest),
                "size": len(manifest),
                "annotations": {
                    "io.containerd.image.name": "docker.io/library/ocimg:2",
                    "org.opencontainers.image.ref.name": "2",
                },
            }
        ],
    }
    files: dict[str, bytes | str | None] = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": json.dumps(index).encode(),
        f"blobs/sha256/{sha(config)[7:]}": config,
        f"blobs/sha256/{sha(layer)[7:]}": layer,
        f"blobs/sha256/{sha(manifest)[7:]}": manifest,
    }
    assert await store.load_archive(chunks(make_tar(files))) == ["Loaded image: ocimg:2"]


async def test_load_refuses_wrong_diff_id(store: ImageStore, root: Path) -> None:
    layer = make_tar({"f": b"1"})
    config = image_config([sha(b"something else")])
    with pytest.raises(InvalidParameter, match="invalid diffID"):
        await store.load_archive(chunks(save_archive([(config, [layer], ["bad:1"])])))
    assert store.list() == []
    assert os.listdir(root / "layers") == []
    assert os.listdir(root / "tmp") == []


async def test_load_refuses_tampered_config(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    config = image_config([sha(layer)])
    archive = save_archive([(config, [layer], ["t:1"])])
    tampered = archive.replace(b'"Cmd": ["sh"]', b'"Cmd": ["id"]')
    assert tampered != archive
    with pytest.raises(InvalidParameter, match="digest"):
        await store.load_archive(chunks(tampered))


async def test_load_refuses_layer_count_mismatch(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    config = image_config([sha(layer), sha(layer)])
    with pytest.raises(InvalidParameter, match="layers length mismatch: expected 1, got 2"):
        await store.load_archive(chunks(save_archive([(config, [layer], [])])))


async def test_load_archive_cannot_escape(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match=r"neither manifest\.json nor index\.json"):
        await store.load_archive(chunks(make_tar({"../../../escape": b"x"})))
    assert not (tmp_path / "escape").exists()
    layer = make_tar({"f": b"1"})
    (tmp_path / "secret").write_bytes(layer)
    config = image_config([sha(layer)])
    files: dict[str, bytes | str | None] = {
        "link": str(tmp_path),
        "cfg.json": config,
        "manifest.json": json.dumps(
            [{"Config": "cfg.json", "RepoTags": [], "Layers": ["link/secret"]}]
        ).encode(),
    }
    with pytest.raises(InvalidParameter, match="does not exist"):
        await store.load_archive(chunks(make_tar(files)))


async def test_load_refuses_garbage(store: ImageStore) -> None:
    with pytest.raises(InvalidParameter, match=r"neither manifest\.json nor index\.json"):
        await store.load_archive(chunks(make_tar({"hello": b"x"})))


# -- merged rootfs reads -------------------------------------------------------------------


async def test_read_file_honours_whiteouts_opaque_dirs_and_symlinks(store: ImageStore) -> None:
    lower = make_tar(
        {
            "etc": None,
            "etc/passwd": b"v1",
            "etc/group": b"g",
            "d": None,
            "d/f": b"hidden",
            "abs": "/etc/passwd",
        }
    )
    upper = make_tar(
        {
            "etc/passwd": b"v2",
            "etc/.wh.group": b"",
            "d": None,
            "d/.wh..wh..opq": b"",
            "d/g": b"new",
            "link": "d/../etc/passwd",
            "dirlink": "/etc",
        }
    )
    config = image_config([sha(lower), sha(upper)])
    archive = save_archive([(config, [lower, upper], [])], compress_layers=True)
    await store.load_archive(chunks(archive))
    image = store.get(sha(config))
    assert store.read_file(image, "/etc/passwd") == b"v2"
    assert store.read_file(image, "/etc/group") is None
    assert store.read_file(image, "/d/f") is None
    assert store.read_file(image, "/d/g") == b"new"
    assert store.read_file(image, "/abs") == b"v2"
    assert store.read_file(image, "/link") == b"v2"
    assert store.read_file(image, "/dirlink/passwd") == b"v2"
    assert store.read_file(image, "/../../etc/passwd") == b"v2"
    assert store.read_file(image, "/nothere") is None
    assert store.read_file(image, "/etc") is None


async def test_load_accepts_a_compressed_archive(store: ImageStore) -> None:
    layer = make_tar({"f": b"1"})
    config = image_config([sha(layer)])
    archive = gzip.compress(save_archive([(config, [layer], ["gz:1"])]))
    assert await store.load_archive(chunks(archive)) == ["Loaded image: gz:1"]


async def test_concurrent_imports_share_one_layer(store: ImageStore, root: Path) -> None:
    images = await asyncio.gather(
        *(store.import_image(chunks(ROOTFS), f"c{i}", [], f"m{i}", None) for i in range(4))
    )
    assert len({i.id for i in images}) == 4
    assert os.listdir(root / "layers") == [sha(ROOTFS)[7:]]
    for i in range(4):
        await store.delete(f"c{i}")
    assert os.listdir(root / "layers") == []


async def test_restart_after_a_kill_between_layer_and_image(
    store: ImageStore, tmp_path: Path, root: Path
) -> None:
    """A daemon killed after a layer landed but before its image did: the layer goes."""
    await store.register_layer(chunks(ROOTFS))  # pinned, no image yet: then "killed"
    assert os.listdir(root / "layers") == [sha(ROOTFS)[7:]]
    again = await reopen(tmp_path, root)
    assert again.list() == []
    assert os.listdir(root / "layers") == []
    image = await again.import_image(chunks(ROOTFS), "after", [], "", None)
    assert again.get("after") is image


async def test_cancelled_import_stops_the_worker_and_cleans_up(
    store: ImageStore, root: Path
) -> None:
    stalled = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield ROOTFS[:2048]
        stalled.set()
        await asyncio.Event().wait()  # a client that stops sending but stays connected
        yield b""

    task = asyncio.create_task(store.import_image(stalls(), "x", [], "", None))
    await asyncio.wait_for(stalled.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert store.list() == []
    assert os.listdir(root / "tmp") == []
