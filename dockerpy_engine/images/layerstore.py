"""The layers of the image store by ChainID, and what keeps each one alive.

Layers are shared between images and kept while anything needs them: an image using them,
a hold (a container whose rootfs is built on them, see `hold`) or a pin (a layer just
registered for an image that is still being created, see `register`). A layer needed keeps
its parents too. Files are written before the row that names them and removed after.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterable
from pathlib import Path

from ..errdefs import InvalidParameter, System
from ..idmap import IdentityMapping
from ..store.images import ImageRows, LayerRow
from ..userns import give_to_root
from . import layers as layerfs
from ._stream import with_stream
from .layout import StoreLayout, remove_path, remove_paths
from .records import ImageRecords
from .types import Image, chain_id

MAX_LAYER_DEPTH = 128  # overlay2's maxDepth: lower dirs below a layer (init layers count)


class LayerStore:
    """Layer records, holds and pins. Changes happen under the image store's `lock`."""

    def __init__(
        self,
        rows: ImageRows,
        layout: StoreLayout,
        images: ImageRecords,
        lock: asyncio.Lock,
        ids: IdentityMapping,
    ) -> None:
        self._rows = rows
        self._layout = layout
        self._images = images
        self._lock = lock
        # --userns-remap's maps (idmap.py): layers are unpacked with their owners moved into
        # the remapped range, as dockerd's layer store does with its IDMapping
        self._ids = ids
        self._layers: dict[str, LayerRow] = {}
        self._holds: dict[str, set[str]] = {}
        self._pins: Counter[str] = Counter()

    def load(self) -> None:
        self._layers = {row.chain_id: row for row in self._rows.load_layers()}
        for holder, chain in self._rows.load_holds():
            self._holds.setdefault(holder, set()).add(chain)

    def forget_orphans(self) -> None:
        """Forget the recorded layers nothing needs (the images must be loaded first)."""
        used = self._used()
        orphans = [c for c in self._layers if c not in used]
        if orphans:
            self._rows.delete_layers(orphans)
            for chain in orphans:
                del self._layers[chain]

    def known(self) -> Collection[str]:
        """The ChainIDs of every recorded layer."""
        return self._layers.keys()

    def of(self, image: Image) -> list[LayerRow]:
        """The image's layers, base first."""
        return [self._layers[c] for c in image.chain_ids]

    def missing(self, chains: Iterable[str]) -> list[str]:
        return [c for c in chains if c not in self._layers]

    def size(self, chains: Iterable[str]) -> int:
        """The unpacked size of these (recorded) layers."""
        return sum(self._layers[c].size for c in chains)

    def shared_sizes(self, images: Iterable[Image]) -> dict[str, int]:
        """SharedSize of `images`: the unpacked size of their layers that more than one image
        of the whole store uses, as dockerd counts."""
        users: Counter[str] = Counter()
        for other in self._images.values():
            users.update(other.chain_ids)
        return {
            image.id: sum(
                self._layers[c].size for c in image.chain_ids if users[c] > 1 and c in self._layers
            )
            for image in images
        }

    def mount_path(self, path: Path) -> Path:
        """For overlay mounts: a layer's diff dir as its short link, any other path as is."""
        chain = f"sha256:{path.parent.name}"
        if path.name == "diff" and chain in self._layers and path == self._layout.diff_dir(chain):
            return self._layout.layer_link(chain)
        return path

    def _depth(self, chain: str) -> int:
        depth = 0
        while chain:
            depth += 1
            row = self._layers.get(chain)
            chain = row.parent if row else ""
        return depth

    def _used(self) -> set[str]:
        used: set[str] = set()
        for image in self._images.values():
            used.update(image.chain_ids)
        roots = [c for held in self._holds.values() for c in held] + list(self._pins)
        for chain in roots:
            while chain and chain not in used:
                used.add(chain)
                row = self._layers.get(chain)
                chain = row.parent if row else ""
        return used

    async def register(
        self,
        source: AsyncIterator[bytes] | Path,
        parent: str = "",
        expected_diff_id: str | None = None,
    ) -> LayerRow:
        """Unpack a (possibly compressed) layer tar on top of `parent` and record it.

        The new layer is *pinned*: it survives garbage collection until the caller has
        created the image that uses it and called `release(chain_id)`. As overlay2, a
        layer cannot have more than MAX_LAYER_DEPTH layers below it.
        """
        if parent and self._depth(parent) > MAX_LAYER_DEPTH:
            raise System("max depth exceeded")
        work = self._layout.work_dir("layer")
        diff = work / "diff"
        diff.mkdir()
        give_to_root(self._ids, diff)  # the layer's own root, as overlay2's diff dirs
        options = dataclasses.replace(layerfs.LAYER, ids=self._ids)
        try:
            keep = work / "layer.tar"
            if isinstance(source, Path):
                stats = await asyncio.to_thread(
                    layerfs.extract_file, source, diff, keep_tar=keep, options=options
                )
            else:
                stats = await with_stream(
                    source, lambda f: layerfs.extract(f, diff, keep_tar=keep, options=options)
                )
            if expected_diff_id is not None and stats.diff_id != expected_diff_id:
                raise InvalidParameter(
                    f'invalid diffID: expected "{expected_diff_id}", got "{stats.diff_id}"'
                )
            chain = chain_id(parent, stats.diff_id)
            async with self._lock:
                if parent and parent not in self._layers:
                    raise InvalidParameter(f"parent layer {parent} does not exist")
                if chain not in self._layers:
                    target = self._layout.layer_dir(chain)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.exists():
                        remove_path(target)
                    os.rename(work, target)
                    self._layout.layer_link(chain)
                    row = LayerRow(chain, stats.diff_id, parent, stats.size, stats.tar_size)
                    self._rows.add_layer(row)
                    self._layers[chain] = row
                self._pins[chain] += 1
                return self._layers[chain]
        finally:
            if work.exists():
                await asyncio.to_thread(shutil.rmtree, work, True)

    def pin(self, chain: str) -> bool:
        """Keep an existing layer (and its parents) alive until `release`."""
        if chain not in self._layers:
            return False
        self._pins[chain] += 1
        return True

    async def release(self, chain: str) -> None:
        """Drop a pin; the layer goes away now if no image, hold or pin needs it."""
        self._pins[chain] -= 1
        if self._pins[chain] <= 0:
            del self._pins[chain]
        async with self._lock:
            trash = self._collect([chain])
        await asyncio.to_thread(remove_paths, trash)

    async def hold(self, holder: str, image: Image) -> None:
        """Keep `image`'s layers while `holder` (a container ID) exists, even if the image
        is force-removed: the container's rootfs is an overlay on them."""
        chains = set(image.chain_ids)
        async with self._lock:
            self._rows.set_holds(holder, chains)
            self._holds[holder] = chains

    def holders(self) -> list[str]:
        return list(self._holds)

    async def release_holds(self, holder: str) -> None:
        """The holder is gone: its layers go too unless something else needs them."""
        async with self._lock:
            chains = self._holds.pop(holder, set())
            self._rows.delete_holds(holder)
            trash = self._collect(sorted(chains))
        await asyncio.to_thread(remove_paths, trash)

    def freed_by(self, image: Image) -> list[str]:
        """The layers of a just forgotten image that nothing needs any more, top first."""
        used = self._used()
        return [c for c in reversed(image.chain_ids) if c not in used and c in self._layers]

    def forget(self, chains: Iterable[str]) -> list[Path]:
        """Forget layers whose rows are gone; returns their directories, moved to the trash."""
        return [self._layout.trash_layer(c) for c in chains if self._layers.pop(c, None)]

    def _collect(self, candidates: Iterable[str]) -> list[Path]:
        """Forget the unused layers among `candidates` and their parents (lock held)."""
        used = self._used()
        removed: list[str] = []
        for chain in candidates:
            while chain and chain in self._layers and chain not in used:
                removed.append(chain)
                used.add(chain)  # visited
                chain = self._layers[chain].parent
        if not removed:
            return []
        self._rows.delete_layers(removed)
        return self.forget(removed)

    async def iter_tar(self, chain: str) -> AsyncIterator[bytes]:
        """The stored uncompressed tar of a layer, in 1 MiB chunks read off the loop."""
        with open(self._layout.layer_tar_path(chain), "rb", buffering=0) as src:
            while chunk := await asyncio.to_thread(src.read, layerfs.BUFSIZE):
                yield chunk
