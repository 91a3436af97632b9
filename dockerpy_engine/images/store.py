"""The image store: images, their names and their layers, on disk and in memory.

Its files are laid out under the daemon's data root as layout.py describes. Metadata lives
in SQLite (store/images.py) and in memory, loaded once at start, so lookups never touch disk.
Writes go files first, then one transaction; removals go transaction first, then files. A
daemon killed at any point restarts into a consistent state: `load_state` empties tmp/ and
deletes every layer and blob the database does not name.

The store creates and drops the images (kept in records.py) and holds the one lock that
serialises every change; it delegates the rest: names and lookups (refstore.py), layers with
their holds and pins (layerstore.py), listing (listing.py), API shapes (views.py), the
delete rules (delete.py), docker load and import (load.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errdefs import InvalidParameter, NoSuchImage
from ..idmap import NO_MAPPING, IdentityMapping
from ..store.db import Database
from ..store.images import ImageRow, ImageRows, LayerRow
from . import views
from ._rootfs import MergedView
from .delete import Deleter, InUse
from .layerstore import LayerStore
from .layout import StoreLayout, remove_paths, write_atomic
from .listing import list_images
from .load import Loader
from .records import ImageRecords
from .reference import Reference, repo_tag_reference
from .refstore import RefStore, ref_row, refuse_digest_name
from .times import rfc3339nano
from .types import Image, chain_ids

log = logging.getLogger(__name__)

EventSink = Callable[[str, str, Mapping[str, str]], None]
"""`on_event(action, image_id, attributes)`: tag, untag, delete, import, load."""


class ImageStore:
    """Images, names and layers of one data root. Mutations are serialised by one lock."""

    def __init__(
        self,
        db: Database,
        root: Path,
        on_event: EventSink | None = None,
        graph_driver: str = "overlay2",
        ids: IdentityMapping = NO_MAPPING,
    ) -> None:
        self.root = Path(root)
        # --userns-remap's maps (idmap.py): the layers' owners are moved into the remapped
        # range, and containers and the builder take the maps from here
        self.ids = ids
        # the daemon's storage driver (graphdriver.py), as dockerd's layer store owns it: what
        # containers and the builder put on these layers, and what inspect names
        self.graph_driver = graph_driver
        self._rows = ImageRows(db)
        self._emit_sink = on_event
        self._lock = asyncio.Lock()
        self._layout = StoreLayout(self.root)
        self._images = ImageRecords()
        self._refs = RefStore(self._rows, self._images)
        self._layers = LayerStore(self._rows, self._layout, self._images, self._lock, ids)
        self._deleter = Deleter(self._images, self._refs, self._drop_image)
        self._loader = Loader(self, self._refs, self._layout)

    # -- paths ----------------------------------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        return self._layout.tmp_dir

    def blob_path(self, image_id: str) -> Path:
        return self._layout.blob_path(image_id)

    def layer_dir(self, chain: str) -> Path:
        return self._layout.layer_dir(chain)

    def diff_dir(self, chain: str) -> Path:
        return self._layout.diff_dir(chain)

    def layer_link(self, chain: str) -> Path:
        """The layer's short name for overlay mounts (see StoreLayout.layer_link)."""
        return self._layout.layer_link(chain)

    def mount_path(self, path: Path) -> Path:
        """For overlay mounts: a layer's diff dir as its short link, any other path as is."""
        return self._layers.mount_path(path)

    def mount_lowers(self, chains: list[str]) -> list[Path]:
        """The short links of a chain's layers (base first), in lowerdir order (top first)."""
        return self._layout.mount_lowers(chains)

    def layer_tar_path(self, chain: str) -> Path:
        """The uncompressed tar of a layer, whose sha256 is its DiffID (for save/push)."""
        return self._layout.layer_tar_path(chain)

    # -- startup ----------------------------------------------------------------------

    async def load_state(self) -> None:
        """Load metadata into memory, then drop whatever a crash left half done."""
        self._layers.load()
        self._images.load(self._rows.load_images())
        self._refs.load()
        self._layers.forget_orphans()
        await asyncio.to_thread(self._layout.sweep, self._layers.known(), self._images.configs())

    # -- lookups (sync, in memory) ------------------------------------------------------

    def get(self, ref_or_id: str) -> Image:
        """GetImage: name[:tag], name@digest, full or hex ID, or a unique ID prefix."""
        return self._refs.get(ref_or_id)

    def exists(self, ref_or_id: str) -> bool:
        try:
            self.get(ref_or_id)
        except (NoSuchImage, InvalidParameter):
            return False
        return True

    def all(self) -> list[Image]:
        return list(self._images.values())

    def config_bytes(self, image: Image) -> bytes:
        """The exact config JSON whose sha256 is the image ID (for save/push)."""
        return self._images.config_bytes(image.id)

    def layers(self, image: Image) -> list[LayerRow]:
        """The image's layers, base first."""
        return self._layers.of(image)

    def lower_dirs(self, image: Image) -> list[Path]:
        """The layers' diff dirs, top-most first: overlayfs `lowerdir` order."""
        return [self.diff_dir(c) for c in reversed(image.chain_ids)]

    def children(self, image_id: str) -> list[Image]:
        return self._images.children(image_id)

    def read_file(self, image: Image, path: str) -> bytes | None:
        """Read a file of the image's merged rootfs (e.g. /etc/passwd), None if absent.

        Walks the layers top-down as overlayfs would: whiteouts hide, opaque directories
        stop the search, symlinks resolve within the image.
        """
        return MergedView(self.lower_dirs(image)).read(path)

    def list(
        self, filters: Mapping[str, Iterable[str]] | None = None, all: bool = False
    ) -> list[Image]:
        """GET /images/json: dockerd's filters and its dangling/intermediate rules."""
        return list_images(self._images, self._refs, filters, all)

    # -- API shapes ------------------------------------------------------------------

    def shared_sizes(self, images: Iterable[Image]) -> dict[str, int]:
        """SharedSize of `images` (GET /images/json?shared-size=1)."""
        return self._layers.shared_sizes(images)

    def to_api_summary(
        self, image: Image, containers: int = -1, shared_size: int = -1
    ) -> dict[str, Any]:
        """ImageSummary of GET /images/json (swagger v1.51); -1 means "not computed"."""
        return views.summary(image, containers, shared_size)

    def to_api_inspect(self, image: Image) -> dict[str, Any]:
        """ImageInspect of GET /images/{name}/json, in v1.51's shape."""
        return views.inspect(image, self.graph_driver, self._layout)

    # -- layers ----------------------------------------------------------------------

    async def register_layer(
        self,
        source: AsyncIterator[bytes] | Path,
        parent: str = "",
        expected_diff_id: str | None = None,
    ) -> LayerRow:
        """Unpack a (possibly compressed) layer tar on top of `parent` and record it, pinned
        until `release_layer(chain_id)` (see LayerStore.register)."""
        return await self._layers.register(source, parent, expected_diff_id)

    def pin_layer(self, chain: str) -> bool:
        """Keep an existing layer (and its parents) alive until `release_layer`."""
        return self._layers.pin(chain)

    async def release_layer(self, chain: str) -> None:
        """Drop a pin; the layer goes away now if no image, hold or pin needs it."""
        await self._layers.release(chain)

    async def hold_layers(self, holder: str, image: Image) -> None:
        """Keep `image`'s layers while `holder` (a container ID) exists, even if the image
        is force-removed: the container's rootfs is an overlay on them."""
        await self._layers.hold(holder, image)

    def holders(self) -> list[str]:
        """Who holds layers (container IDs): the container service drops the holds of
        containers a kill left unrecorded."""
        return self._layers.holders()

    async def release_holds(self, holder: str) -> None:
        """The holder is gone: its layers go too unless something else needs them."""
        await self._layers.release_holds(holder)

    def iter_layer_tar(self, chain: str) -> AsyncIterator[bytes]:
        """The stored uncompressed tar of a layer, in 1 MiB chunks read off the loop."""
        return self._layers.iter_tar(chain)

    # -- images ----------------------------------------------------------------------

    async def create_image(
        self,
        config: bytes,
        *,
        refs: Iterable[Reference] = (),
        parent: str = "",
        tag_time: bool = False,
    ) -> Image:
        """Store an image from its config bytes (ID = their sha256) and point `refs` at it.

        Every layer of the config's rootfs must already be registered. With `tag_time`,
        Metadata.LastTagTime is set (docker tag, import with a repo); load does not.
        """
        try:
            document = json.loads(config)
        except ValueError as exc:
            raise InvalidParameter(f"invalid image JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("rootfs"), dict):
            raise InvalidParameter("invalid image JSON, no RootFS key")
        image_id = "sha256:" + hashlib.sha256(config).hexdigest()
        refs = list(refs)
        async with self._lock:
            chains = chain_ids(list(document["rootfs"].get("diff_ids") or []))
            missing = self._layers.missing(chains)
            if missing:
                raise InvalidParameter(f"layer {missing[0]} does not exist")
            image = self._images.get(image_id)
            now = rfc3339nano() if tag_time and refs else ""
            if image is None:
                await asyncio.to_thread(write_atomic, self.blob_path(image_id), config)
                size = self._layers.size(chains)
                image = Image(image_id, document, size, parent=parent, added=time.time())
            row = ImageRow(image_id, config, image.size, image.parent, image.added, now)
            self._rows.add_image(row, [ref_row(r, image_id) for r in refs])
            self._images.put(image, config)
            if now:
                image.last_tag_time = now
            self._refs.point(refs, image_id)
        return image

    async def import_image(
        self,
        chunks: AsyncIterator[bytes],
        repo_tag: str | None,
        changes: list[str],
        message: str,
        platform: str | None,
    ) -> Image:
        """docker import: one layer from the body tar, a config from host and `changes`."""
        return await self._loader.import_image(chunks, repo_tag, changes, message, platform)

    async def load_archive(
        self, chunks: AsyncIterator[bytes], progress: Callable[[str], None] | None = None
    ) -> list[str]:
        """docker load: returns dockerd's lines (`Loaded image: busybox:latest`, ...),
        each also passed to `progress` as soon as it is known."""
        return await self._loader.load_archive(chunks, progress)

    async def tag(self, source_ref: str, repo: str, tag: str = "") -> Image:
        """POST /images/{name}/tag: point repo[:tag] (default latest) at the image."""
        ref = repo_tag_reference(repo, tag)
        if ref is None:
            raise InvalidParameter("repository name must have at least one component")
        refuse_digest_name(ref)
        image = self.get(source_ref)
        async with self._lock:
            if image.id not in self._images:
                raise NoSuchImage(source_ref)
            now = rfc3339nano()
            self._refs.tag(ref, image.id, now)
            image.last_tag_time = now
        self._emit("tag", image.id, {"name": ref.familiar_string()})
        return image

    # -- delete ----------------------------------------------------------------------

    async def delete(
        self,
        ref: str,
        force: bool = False,
        prune: bool = True,
        in_use: InUse | None = None,
    ) -> list[dict[str, str]]:
        """DELETE /images/{name}: dockerd's ImageDelete, records and conflicts included.

        `in_use(image_id)` returns (container_id, running) of a container using that image
        (preferring a running one) or None. Removed layers are listed as `Deleted` too.
        """
        check = in_use or (lambda _image_id: None)
        before = dict(self._images)  # untag events carry the labels of what they untag
        async with self._lock:
            done = self._deleter.delete(ref, force, prune, check)
        await asyncio.to_thread(remove_paths, done.trash)
        for action, image_id in done.events:
            untagged = before.get(image_id) if action == "untag" else None
            self._emit(action, image_id, {"name": image_id}, untagged)
        return done.records

    def _drop_image(self, image_id: str, trash: list[Path]) -> list[str]:
        """Forget an image and the layers only it used; returns those ChainIDs, top first."""
        image = self._images.drop(image_id)
        freed = self._layers.freed_by(image)
        self._rows.delete_image(image_id, freed)
        trash.extend(self._layers.forget(freed))
        trash.append(self._layout.trash(self.blob_path(image_id)))
        return freed

    # -- events ----------------------------------------------------------------------

    def log_event(self, action: str, actor: str, attributes: Mapping[str, str]) -> None:
        """An image event of someone else's (pull, push: `actor` is the reference)."""
        self._emit(action, actor, attributes)

    def _emit(
        self,
        action: str,
        actor: str,
        attributes: Mapping[str, str],
        image: Image | None = None,
    ) -> None:
        """dockerd's LogImageEvent: the image's labels while it exists (`image` when it is
        gone already), then `attributes` (its `name`)."""
        if self._emit_sink is None:
            return
        if image is None:
            with contextlib.suppress(NoSuchImage, InvalidParameter):
                image = self.get(actor) if actor else None
        labels = (image.container_config.get("Labels") or {}) if image is not None else {}
        try:
            self._emit_sink(action, actor, {**labels, **attributes})
        except Exception:
            log.exception("image event sink failed")
