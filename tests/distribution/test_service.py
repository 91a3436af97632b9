"""Pull and push through DistributionService, a real ImageStore and the fake registry."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import zstandard

from dockerpy_engine.distribution import (
    DistributionService,
    Progress,
    PullOptions,
    PushOptions,
    RegistryConfig,
)
from dockerpy_engine.distribution.manifests import OCI_INDEX, host_platform
from dockerpy_engine.errdefs import EngineError, NotFound
from dockerpy_engine.images import ImageStore, parse
from dockerpy_engine.store.db import Database

from .fakes import FakeRegistry, digest, serve


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 1_700_000_000
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Lines:
    def __init__(self) -> None:
        self.items: list[dict] = []

    async def write(self, line: bytes) -> None:
        self.items.append(orjson.loads(line))

    def statuses(self, layer: str | None = None) -> list[str]:
        return [m.get("status", "") for m in self.items if layer is None or m.get("id") == layer]

    def progress(self) -> Progress:
        return Progress(self.write)


@pytest.fixture
async def env(tmp_path: Path):
    store = ImageStore(Database(tmp_path / "meta.db"), tmp_path / "root")
    await store.load_state()
    registry = FakeRegistry()
    server = await serve(registry)
    service = DistributionService(store, RegistryConfig(certs_dirs=()), max_download_attempts=3)
    host = f"127.0.0.1:{server.port}"
    yield store, registry, service, host
    await service.close()
    await server.close()


async def _make_image(store: ImageStore, name: str) -> str:
    """A two-layer image (random content, so each test has its own blobs)."""
    layers = [_tar("a.bin", os.urandom(300_000)), _tar("b.bin", os.urandom(1_200_000))]
    rows = []
    parent = ""
    for layer in layers:
        row = await store.register_layer(_chunks(layer), parent)
        rows.append(row)
        parent = row.chain_id
    platform = host_platform()
    config = json.dumps(
        {
            "architecture": platform.architecture,
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [r.diff_id for r in rows]},
        }
    ).encode()
    image = await store.create_image(config, refs=[parse(name)])
    for row in rows:
        await store.release_layer(row.chain_id)
    return image.id


def _leftovers(root: Path) -> list[str]:
    layers = sorted(p.name for p in (root / "layers").iterdir())
    work = sorted(p.name for p in (root / "tmp").iterdir() if not p.name.startswith("trash-"))
    return layers + work


async def test_push_then_pull_round_trip(env):
    store, _registry, service, host = env
    name = f"{host}/app:1"
    image_id = await _make_image(store, name)
    pushed = Lines()
    await service.push(parse(name), _push_opts(), pushed.progress())
    assert pushed.items[0] == {"status": f"The push refers to repository [{host}/app]"}
    assert pushed.statuses().count("Pushed") == 2
    aux = pushed.items[-1]["aux"]
    assert pushed.items[-2]["status"] == f"1: digest: {aux['Digest']} size: {aux['Size']}"
    assert store.get(name).repo_digests == [f"{host}/app@{aux['Digest']}"]

    again = Lines()
    await service.push(parse(name), _push_opts(), again.progress())
    assert again.statuses().count("Layer already exists") == 2

    other = Lines()
    await store.tag(name, f"{host}/other", "x")
    await service.push(parse(f"{host}/other:x"), _push_opts(), other.progress())
    assert other.statuses().count("Mounted from app") == 2

    await store.delete(image_id, force=True)
    assert not store.all()
    pulled = Lines()
    await service.pull(parse(name), PullOptions(), pulled.progress())
    layer = pulled.items[1]["id"]
    assert pulled.items[0] == {"status": "Pulling from app", "id": "1"}
    steps = [s for s in pulled.statuses(layer) if s not in ("Downloading", "Extracting")]
    assert steps == ["Pulling fs layer", "Verifying Checksum", "Download complete", "Pull complete"]
    assert "Downloading" in pulled.statuses(layer) and "Extracting" in pulled.statuses(layer)
    assert pulled.items[-2] == {"status": f"Digest: {aux['Digest']}"}
    assert pulled.items[-1] == {"status": f"Status: Downloaded newer image for {name}"}
    image = store.get(name)
    assert image.id == image_id
    assert image.repo_digests == [f"{host}/app@{aux['Digest']}"]

    same = Lines()
    await service.pull(parse(name), PullOptions(), same.progress())
    assert same.items[-1] == {"status": f"Status: Image is up to date for {name}"}
    by_digest = Lines()
    await service.pull(parse(f"{host}/app@{aux['Digest']}"), PullOptions(), by_digest.progress())
    assert by_digest.items[0]["id"] == aux["Digest"]


async def test_pull_of_a_missing_tag_is_a_404_before_any_output(env):
    _store, _registry, service, host = env
    lines = Lines()
    with pytest.raises(NotFound, match=f"manifest for {host}/nope:1 not found: manifest unknown"):
        await service.pull(parse(f"{host}/nope:1"), PullOptions(), lines.progress())
    assert lines.items == []


async def test_interrupted_pull_leaves_nothing(env, tmp_path: Path):
    store, registry, service, host = env
    name = f"{host}/app:1"
    await _make_image(store, name)
    await service.push(parse(name), _push_opts(), Lines().progress())
    await store.delete(name, force=True)
    manifest = json.loads(registry.manifests["app:1"][0])
    top = manifest["layers"][1]["digest"]
    registry.drop_after[top] = [1000, 2000, 3000]  # more drops than attempts
    lines = Lines()
    with pytest.raises(EngineError, match="failed to download"):
        await service.pull(parse(name), PullOptions(), lines.progress())
    assert "Already exists" not in lines.statuses()
    assert not store.all()
    assert _leftovers(tmp_path / "root") == []

    # the same, cancelled in the middle of a download (a client that hung up)
    registry.drop_after.clear()
    started = asyncio.Event()

    async def write(line: bytes) -> None:
        if b"Downloading" in line:
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(service.pull(parse(name), PullOptions(), Progress(write)))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not store.all()
    assert _leftovers(tmp_path / "root") == []


async def test_index_selects_the_host_platform_and_records_the_index_digest(env):
    store, registry, service, host = env
    name = f"{host}/app:1"
    image_id = await _make_image(store, name)
    await service.push(parse(name), _push_opts(), Lines().progress())
    await store.delete(name, force=True)
    raw, media_type = registry.manifests["app:1"]
    platform = host_platform()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": media_type,
                    "digest": "sha256:" + hashlib.sha256(b"other").hexdigest(),
                    "size": 5,
                    "platform": {"os": "linux", "architecture": "s390x"},
                },
                {
                    "mediaType": media_type,
                    "digest": digest(raw),
                    "size": len(raw),
                    "platform": {"os": "linux", "architecture": platform.architecture},
                },
            ],
        }
    ).encode()
    registry.manifests["app:multi"] = (index, OCI_INDEX)
    lines = Lines()
    await service.pull(parse(f"{host}/app:multi"), PullOptions(), lines.progress())
    image = store.get(f"{host}/app:multi")
    assert image.id == image_id
    assert image.repo_digests == [f"{host}/app@{digest(index)}"]
    inspect = await service.inspect(parse(f"{host}/app:multi"), _push_opts().auth)
    assert inspect.descriptor.digest == digest(index)
    assert [p.architecture for p in inspect.platforms] == ["s390x", platform.architecture]


async def test_pull_all_tags_and_concurrency_limit(env, tmp_path: Path):
    store, _registry, service, host = env
    await _make_image(store, f"{host}/app:1")
    await _make_image(store, f"{host}/app:2")
    await service.push(parse(f"{host}/app"), _push_opts(), Lines().progress())
    for tag in ("1", "2"):
        await store.delete(f"{host}/app:{tag}", force=True)
    narrow = DistributionService(store, RegistryConfig(certs_dirs=()), max_concurrent_downloads=1)
    try:
        lines = Lines()
        await narrow.pull(parse(f"{host}/app"), PullOptions(), lines.progress())
    finally:
        await narrow.close()
    assert lines.statuses().count("Waiting") == 2  # one layer of each image waited its turn
    assert lines.items[-1] == {"status": f"Status: Downloaded newer image for {host}/app"}
    assert sorted(t for i in store.all() for t in i.repo_tags) == [f"{host}/app:1", f"{host}/app:2"]


def _push_opts() -> PushOptions:
    return PushOptions()


def _oci_image(registry: FakeRegistry, repo: str, tag: str, layers: list[tuple[bytes, str, bytes]]):
    """Publish an OCI manifest in the fake: layers as (uncompressed tar, media type, blob)."""
    platform = host_platform()
    config = json.dumps(
        {
            "architecture": platform.architecture,
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t, _, _ in layers],
            },
        }
    ).encode()
    registry.blobs[digest(config)] = config
    for _, _, blob in layers:
        registry.blobs[digest(blob)] = blob
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": media_type, "digest": digest(blob), "size": len(blob)}
                for _, media_type, blob in layers
            ],
        }
    ).encode()
    registry.manifests[f"{repo}:{tag}"] = (manifest, "application/vnd.oci.image.manifest.v1+json")
    return digest(config)


async def test_zstd_and_uncompressed_oci_layers(env):
    store, registry, service, host = env
    plain = _tar("plain.txt", b"plain\n")
    squeezed = _tar("zstd.txt", b"zstd\n" * 1000)
    image_id = _oci_image(
        registry,
        "oci",
        "1",
        [
            (plain, "application/vnd.oci.image.layer.v1.tar", plain),
            (
                squeezed,
                "application/vnd.oci.image.layer.v1.tar+zstd",
                zstandard.ZstdCompressor().compress(squeezed),
            ),
        ],
    )
    await service.pull(parse(f"{host}/oci:1"), PullOptions(), Lines().progress())
    image = store.get(f"{host}/oci:1")
    assert image.id == image_id
    assert store.read_file(image, "/zstd.txt") == b"zstd\n" * 1000


async def test_mirror_first_then_origin(env):
    store, registry, _service, host = env
    mirror = FakeRegistry()
    mirror_server = await serve(mirror)
    mirrored = DistributionService(
        store, RegistryConfig(mirrors=[f"http://127.0.0.1:{mirror_server.port}"], certs_dirs=())
    )
    try:
        layer = _tar("m.txt", b"from the mirror\n")
        on_mirror = _oci_image(mirror, "app", "1", [(layer, "", layer)])
        await mirrored.pull(parse(f"{host}/app:1"), PullOptions(), Lines().progress())
        assert store.get(f"{host}/app:1").id == on_mirror
        assert not registry.requests or all("/app/" not in r["path"] for r in registry.requests)
        other = _tar("o.txt", b"from the origin\n")
        on_origin = _oci_image(registry, "app", "2", [(other, "", other)])
        await mirrored.pull(parse(f"{host}/app:2"), PullOptions(), Lines().progress())
        assert store.get(f"{host}/app:2").id == on_origin  # the mirror lacked it
    finally:
        await mirrored.close()
        await mirror_server.close()
