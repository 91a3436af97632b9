"""The image store's short layer links (overlay2's `l/`) and its layer depth limit."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dockerpy_engine.errdefs import System
from dockerpy_engine.images import ImageStore
from dockerpy_engine.images.layerstore import MAX_LAYER_DEPTH
from dockerpy_engine.images.layout import LINKS
from dockerpy_engine.store.db import Database


def _layer(name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(name)
        tar.addfile(info, io.BytesIO(name.encode()))
    return buf.getvalue()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    s = ImageStore(Database(tmp_path / "meta.db"), tmp_path / "root")
    await s.load_state()
    return s


async def test_a_layer_gets_a_short_link_that_goes_with_it(store: ImageStore) -> None:
    image = await store.import_image(_chunks(_layer("f")), "linked:1", [], "", None)
    (chain,) = image.chain_ids
    links = store.root / LINKS
    (link,) = links.iterdir()
    assert len(link.name) == 26 and link.name.isupper()
    assert os.readlink(link) == f"../layers/{chain[7:]}/diff"
    assert (link / "f").read_text() == "f"
    assert store.mount_lowers(image.chain_ids) == [link]
    assert store.mount_path(store.diff_dir(chain)) == link
    assert store.mount_path(store.root / "elsewhere" / "diff") == store.root / "elsewhere" / "diff"
    # made again when lost or wrong, at mount time
    link.unlink()
    assert store.mount_path(store.diff_dir(chain)) == link and link.is_dir()
    link.unlink()
    os.symlink("../somewhere/else", link)
    assert store.layer_link(chain) == link and os.readlink(link) == f"../layers/{chain[7:]}/diff"
    await store.delete("linked:1")
    assert list(links.iterdir()) == []


async def test_recovery_drops_dangling_links(store: ImageStore, tmp_path: Path) -> None:
    image = await store.import_image(_chunks(_layer("kept")), "kept:1", [], "", None)
    links = store.root / LINKS
    os.symlink("../layers/" + "0" * 64 + "/diff", links / ("A" * 26))
    again = ImageStore(Database(tmp_path / "meta.db"), store.root)
    await again.load_state()
    assert [p.name for p in links.iterdir()] == [again.layer_link(image.chain_ids[0]).name]


async def test_a_layer_may_not_sit_on_more_than_max_depth_layers(store: ImageStore) -> None:
    """overlay2's getLower: a new layer's lower dirs are its parent chain, at most 128."""
    parent = ""
    diff_ids = []
    for index in range(MAX_LAYER_DEPTH + 1):
        row = await store.register_layer(_chunks(_layer(f"l{index}")), parent)
        parent = row.chain_id
        diff_ids.append(row.diff_id)
    with pytest.raises(System, match=r"^max depth exceeded$"):
        await store.register_layer(_chunks(_layer("one too many")), parent)
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}  # fmt: skip
    raw = json.dumps(config).encode()
    image = await store.create_image(raw)
    assert image.id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert len(image.chain_ids) == MAX_LAYER_DEPTH + 1
