"""The image store: images, their names and their layers, on disk and in memory.

Layout under the daemon's data root (human-readable on purpose):

    image/blobs/sha256/<hex>    image config JSON; the image ID is its sha256
    layers/<chainid-hex>/diff   a layer unpacked (overlay whiteouts), one per ChainID
    layers/<chainid-hex>/layer.tar  its uncompressed tar, so save/push reproduce the DiffID
    layer-links/<26 chars>      a short link to a layer's diff dir, as overlay2's `l/`: the
                                lowerdir list of a long chain fits in a page with them
    tmp/                        work in progress (extraction, load archives, trash)

Metadata lives in SQLite (store/images.py) and in memory, loaded once at start, so lookups
never touch disk. Writes go files first, then one transaction; removals go transaction
first, then files. A daemon killed at any point restarts into a consistent state:
`load_state` empties tmp/ and deletes every layer and blob the database does not name.

Layers are shared between images and kept while anything needs them: an image using them,
a hold (a container whose rootfs is built on them, see `hold_layers`) or a pin (a layer
just registered for an image that is still being created, see `register_layer`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errdefs import Conflict, InvalidParameter, NoSuchImage, System
from ..filters import parse_until
from ..idmap import NO_MAPPING, IdentityMapping
from ..store.db import Database
from ..store.images import ImageRow, ImageRows, LayerRow, RefRow
from ..userns import give_to_root
from . import layers as layerfs
from ._archive import host_os_arch, read_archive
from ._rootfs import MergedView
from ._stream import with_stream
from .changes import apply_changes
from .reference import (
    DigestReference,
    Reference,
    familiar_match,
    is_image_id_prefix,
    parse,
    parse_any,
    repo_tag_reference,
)
from .times import ZERO_TIME, parse_time, rfc3339nano
from .types import Image, chain_id, chain_ids

log = logging.getLogger(__name__)

InUse = Callable[[str], tuple[str, bool] | None]
"""`in_use(image_id)` -> (container_id, running) of a container created from that image
(a running one if any is running), or None. ImageDelete's conflict rules depend on it."""

EventSink = Callable[[str, str, Mapping[str, str]], None]
"""`on_event(action, image_id, attributes)`: tag, untag, delete, import, load."""

ACCEPTED_FILTERS = frozenset({"dangling", "label", "before", "since", "reference", "until"})
MAX_LAYER_DEPTH = 128  # overlay2's maxDepth: lower dirs below a layer (init layers count)
LINKS = "layer-links"  # the layers' short links


def short_id(image_id: str) -> str:
    """stringid.TruncateID: 12 hex digits, no algorithm."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


@dataclass(frozen=True, slots=True)
class _Conflict:
    hard: bool
    used: bool
    message: str


# Conflict kinds, as dockerd's image_delete.go.
_DEPENDENT_CHILD, _RUNNING, _ACTIVE_REFERENCE, _STOPPED = 1, 2, 4, 8
_HARD = _DEPENDENT_CHILD | _RUNNING
_SOFT = _ACTIVE_REFERENCE | _STOPPED


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
        # --userns-remap's maps (idmap.py): layers are unpacked with their owners moved into
        # the remapped range, as dockerd's layer store does with its IDMapping
        self.ids = ids
        # the daemon's storage driver (graphdriver.py), as dockerd's layer store owns it: what
        # containers and the builder put on these layers, and what inspect names
        self.graph_driver = graph_driver
        self._rows = ImageRows(db)
        self._emit_sink = on_event
        self._images: dict[str, Image] = {}
        self._raw: dict[str, bytes] = {}
        self._refs: dict[str, tuple[Reference, str]] = {}  # lookup key -> (ref, image id)
        self._layers: dict[str, LayerRow] = {}
        self._holds: dict[str, set[str]] = {}
        self._pins: Counter[str] = Counter()
        self._lock = asyncio.Lock()

    # -- paths ----------------------------------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def blob_path(self, image_id: str) -> Path:
        return self.root / "image" / "blobs" / "sha256" / image_id.removeprefix("sha256:")

    def layer_dir(self, chain: str) -> Path:
        return self.root / "layers" / chain.removeprefix("sha256:")

    def diff_dir(self, chain: str) -> Path:
        return self.layer_dir(chain) / "diff"

    def layer_link(self, chain: str) -> Path:
        """The layer's short name for overlay mounts: `layer-links/<26 chars>`, a link to
        `../layers/<chainid-hex>/diff` (overlay2's `l/` links, named after the ChainID here).
        Made with the layer, and again here when missing or wrong; removed with the layer."""
        hex_id = chain.removeprefix("sha256:")
        link = self.root / LINKS / _link_name(hex_id)
        target = f"../layers/{hex_id}/diff"
        with contextlib.suppress(OSError):
            if os.readlink(link) == target:
                return link
        link.parent.mkdir(exist_ok=True)
        temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
        os.symlink(target, temporary)
        os.replace(temporary, link)
        return link

    def mount_path(self, path: Path) -> Path:
        """For overlay mounts: a layer's diff dir as its short link, any other path as is."""
        chain = f"sha256:{path.parent.name}"
        if path.name == "diff" and chain in self._layers and path == self.diff_dir(chain):
            return self.layer_link(chain)
        return path

    def mount_lowers(self, chains: list[str]) -> list[Path]:
        """The short links of a chain's layers (base first), in lowerdir order (top first)."""
        return [self.layer_link(c) for c in reversed(chains)]

    def _depth(self, chain: str) -> int:
        depth = 0
        while chain:
            depth += 1
            row = self._layers.get(chain)
            chain = row.parent if row else ""
        return depth

    def layer_tar_path(self, chain: str) -> Path:
        """The uncompressed tar of a layer, whose sha256 is its DiffID (for save/push)."""
        return self.layer_dir(chain) / "layer.tar"

    def _work_dir(self, kind: str) -> Path:
        path = self.tmp_dir / f"{kind}-{secrets.token_hex(8)}"
        path.mkdir(parents=True)
        return path

    # -- startup ----------------------------------------------------------------------

    async def load_state(self) -> None:
        """Load metadata into memory, then drop whatever a crash left half done."""
        self._layers = {row.chain_id: row for row in self._rows.load_layers()}
        for row in self._rows.load_images():
            self._raw[row.id] = row.config
            self._images[row.id] = Image(
                id=row.id,
                config=json.loads(row.config),
                size=row.size,
                parent=row.parent,
                added=row.added,
                last_tag_time=row.last_tag_time,
            )
        for ref_row in self._rows.load_refs():
            if ref_row.image_id in self._images:
                self._refs[ref_row.ref] = (parse(ref_row.ref), ref_row.image_id)
        for holder, chain in self._rows.load_holds():
            self._holds.setdefault(holder, set()).add(chain)
        for image_id in self._images:
            self._refresh_names(image_id)
        used = self._used_layers()
        orphans = [c for c in self._layers if c not in used]
        if orphans:
            self._rows.delete_layers(orphans)
            for chain in orphans:
                del self._layers[chain]
        await asyncio.to_thread(self._recover)

    def _recover(self) -> None:
        """Empty tmp/, delete unreferenced layer dirs and blobs, restore missing blobs."""
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        layers_root = self.root / "layers"
        layers_root.mkdir(parents=True, exist_ok=True)
        known = {c.removeprefix("sha256:") for c in self._layers}
        for entry in layers_root.iterdir():
            if entry.name not in known:
                log.info("removing unreferenced layer directory %s", entry)
                _remove_path(entry)
        links = self.root / LINKS
        for entry in links.iterdir() if links.is_dir() else ():
            if not entry.exists():  # its layer is gone (or a half-made one)
                _remove_path(entry)
        for chain in self._layers:
            if not self.diff_dir(chain).is_dir():
                log.error("layer %s is recorded but its directory is missing", chain)
        blobs = self.blob_path("sha256:x").parent
        blobs.mkdir(parents=True, exist_ok=True)
        for entry in blobs.iterdir():
            if f"sha256:{entry.name}" not in self._images:
                _remove_path(entry)
        for image_id, raw in self._raw.items():
            if not self.blob_path(image_id).is_file():
                _write_atomic(self.blob_path(image_id), raw)

    # -- lookups (sync, in memory) ------------------------------------------------------

    def get(self, ref_or_id: str) -> Image:
        """GetImage: name[:tag], name@digest, full or hex ID, or a unique ID prefix."""
        ref = parse_any(ref_or_id)
        if isinstance(ref, DigestReference):
            image = self._images.get(ref.digest)
            if image is None:
                raise NoSuchImage(ref.digest)
            return image
        entry = self._refs.get(ref.lookup_key())
        if entry is not None:
            return self._images[entry[1]]
        found = self._search_prefix(ref_or_id)
        if found is not None:
            return self._images[found]
        raise NoSuchImage(ref.with_default_tag().familiar_string())

    def _search_prefix(self, text: str) -> str | None:
        """digestset.Lookup: a unique prefix of the hex ID, `sha256:` optional."""
        prefix = text.removeprefix("sha256:")
        if not prefix or not re.fullmatch(r"[a-f0-9]+", prefix):
            return None
        matches = [i for i in self._images if i[len("sha256:") :].startswith(prefix)]
        return matches[0] if len(matches) == 1 else None

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
        return self._raw[image.id]

    def layers(self, image: Image) -> list[LayerRow]:
        """The image's layers, base first."""
        return [self._layers[c] for c in image.chain_ids]

    def lower_dirs(self, image: Image) -> list[Path]:
        """The layers' diff dirs, top-most first: overlayfs `lowerdir` order."""
        return [self.diff_dir(c) for c in reversed(image.chain_ids)]

    def children(self, image_id: str) -> list[Image]:
        return [i for i in self._images.values() if i.parent == image_id]

    def _refs_of(self, image_id: str) -> list[Reference]:
        refs = [ref for ref, target in self._refs.values() if target == image_id]
        return sorted(refs, key=str)  # refstore's lexicalRefs: by the full reference

    def _refresh_names(self, image_id: str) -> None:
        image = self._images.get(image_id)
        if image is None:
            return
        refs = self._refs_of(image_id)
        image.repo_tags = [r.familiar_string() for r in refs if r.digest is None]
        image.repo_digests = [r.familiar_string() for r in refs if r.digest is not None]

    def read_file(self, image: Image, path: str) -> bytes | None:
        """Read a file of the image's merged rootfs (e.g. /etc/passwd), None if absent.

        Walks the layers top-down as overlayfs would: whiteouts hide, opaque directories
        stop the search, symlinks resolve within the image.
        """
        return MergedView(self.lower_dirs(image)).read(path)

    # -- list ------------------------------------------------------------------------

    def list(
        self, filters: Mapping[str, Iterable[str]] | None = None, all: bool = False
    ) -> list[Image]:
        """GET /images/json: dockerd's filters and its dangling/intermediate rules.

        With a `reference` filter, an image's names are narrowed to the matching ones
        (the returned Images are copies then), as dockerd lists them.
        """
        f = {k: list(v) for k, v in (filters or {}).items()}
        for key in f:
            if key not in ACCEPTED_FILTERS:
                raise InvalidParameter(f"invalid filter '{key}'")
        dangling_only = _bool_filter(f, "dangling")
        before = min((self._created(v) for v in f.get("before", [])), default=None)
        since = max((self._created(v) for v in f.get("since", [])), default=None)
        until = min((parse_until(v) for v in f.get("until", [])), default=None)
        result: list[Image] = []
        parents = {i.parent for i in self._images.values() if i.parent}
        refs_by_image: dict[str, list[Reference]] = {}
        for ref, target in self._refs.values():
            refs_by_image.setdefault(target, []).append(ref)
        for image in self._images.values():
            created = parse_time(image.created)
            if before is not None and (created is None or created >= before):
                continue
            if since is not None and (created is None or created <= since):
                continue
            if until is not None and (created is None or created >= until):
                continue
            if "label" in f and not _match_labels(f["label"], image.labels):
                continue
            has_children = image.id in parents
            if dangling_only and has_children:
                continue
            refs = sorted(refs_by_image.get(image.id, []), key=str)
            if "reference" in f:
                refs = [r for r in refs if any(familiar_match(p, r) for p in f["reference"])]
            tags = [r.familiar_string() for r in refs if r.digest is None]
            digests = [r.familiar_string() for r in refs if r.digest is not None]
            if not tags and not digests:
                if not (all or not has_children):
                    continue
                if "dangling" in f and not dangling_only:
                    continue
                if "reference" in f:
                    continue
            elif dangling_only and tags:
                continue
            if "reference" in f:
                image = _copy(image, tags, digests)
            result.append(image)
        result.sort(key=lambda i: parse_time(i.created) or 0.0, reverse=True)
        return result

    def _created(self, ref: str) -> float:
        return parse_time(self.get(ref).created) or 0.0

    # -- API shapes ------------------------------------------------------------------

    def shared_sizes(self, images: Iterable[Image]) -> dict[str, int]:
        """SharedSize of `images` (GET /images/json?shared-size=1): the unpacked size of
        their layers that more than one image of the whole store uses, as dockerd counts."""
        users: Counter[str] = Counter()
        for other in self._images.values():
            users.update(other.chain_ids)
        return {
            image.id: sum(
                self._layers[c].size for c in image.chain_ids if users[c] > 1 and c in self._layers
            )
            for image in images
        }

    def to_api_summary(
        self, image: Image, containers: int = -1, shared_size: int = -1
    ) -> dict[str, Any]:
        """ImageSummary of GET /images/json (swagger v1.51); -1 means "not computed"."""
        return {
            "Id": image.id,
            "ParentId": image.parent,
            "RepoTags": list(image.repo_tags),
            "RepoDigests": list(image.repo_digests),
            "Created": int(parse_time(image.created) or 0),
            "Size": image.size,
            "SharedSize": shared_size,
            "Labels": image.labels,
            "Containers": containers,
        }

    def to_api_inspect(self, image: Image) -> dict[str, Any]:
        """ImageInspect of GET /images/{name}/json, in v1.51's shape."""
        cfg = image.config
        out: dict[str, Any] = {
            "Id": image.id,
            "RepoTags": list(image.repo_tags),
            "RepoDigests": list(image.repo_digests),
            "Parent": image.parent,
            "Comment": cfg.get("comment") or "",
        }
        if image.created:
            out["Created"] = image.created
        out["DockerVersion"] = cfg.get("docker_version") or ""
        out["Author"] = cfg.get("author") or ""
        out["Config"] = _api_image_config(image.container_config)
        out["Architecture"] = cfg.get("architecture") or ""
        if cfg.get("variant"):
            out["Variant"] = cfg["variant"]
        out["Os"] = cfg.get("os") or ""
        if cfg.get("os.version"):
            out["OsVersion"] = cfg["os.version"]
        out["Size"] = image.size
        data = self._graph_data(image) if self.graph_driver == "overlay2" else None
        out["GraphDriver"] = {"Name": self.graph_driver, "Data": data}  # vfs: no data
        out["RootFS"] = {"Type": "layers", "Layers": image.diff_ids}
        out["Metadata"] = {"LastTagTime": image.last_tag_time or ZERO_TIME}
        return out

    def _graph_data(self, image: Image) -> dict[str, str]:
        chains = image.chain_ids
        if not chains:
            return {}
        top = self.layer_dir(chains[-1])
        data = {
            "MergedDir": str(top / "merged"),
            "UpperDir": str(top / "diff"),
            "WorkDir": str(top / "work"),
        }
        if len(chains) > 1:
            data["LowerDir"] = ":".join(str(self.diff_dir(c)) for c in reversed(chains[:-1]))
        return data

    # -- layers ----------------------------------------------------------------------

    def _used_layers(self) -> set[str]:
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

    async def register_layer(
        self,
        source: AsyncIterator[bytes] | Path,
        parent: str = "",
        expected_diff_id: str | None = None,
    ) -> LayerRow:
        """Unpack a (possibly compressed) layer tar on top of `parent` and record it.

        The new layer is *pinned*: it survives garbage collection until the caller has
        created the image that uses it and called `release_layer(chain_id)`. As overlay2, a
        layer cannot have more than MAX_LAYER_DEPTH layers below it.
        """
        if parent and self._depth(parent) > MAX_LAYER_DEPTH:
            raise System("max depth exceeded")
        work = self._work_dir("layer")
        diff = work / "diff"
        diff.mkdir()
        give_to_root(self.ids, diff)  # the layer's own root, as overlay2's diff dirs
        options = dataclasses.replace(layerfs.LAYER, ids=self.ids)
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
                    target = self.layer_dir(chain)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.exists():
                        _remove_path(target)
                    os.rename(work, target)
                    self.layer_link(chain)
                    row = LayerRow(chain, stats.diff_id, parent, stats.size, stats.tar_size)
                    self._rows.add_layer(row)
                    self._layers[chain] = row
                self._pins[chain] += 1
                return self._layers[chain]
        finally:
            if work.exists():
                await asyncio.to_thread(shutil.rmtree, work, True)

    def pin_layer(self, chain: str) -> bool:
        """Keep an existing layer (and its parents) alive until `release_layer`."""
        if chain not in self._layers:
            return False
        self._pins[chain] += 1
        return True

    async def release_layer(self, chain: str) -> None:
        """Drop a pin; the layer goes away now if no image, hold or pin needs it."""
        self._pins[chain] -= 1
        if self._pins[chain] <= 0:
            del self._pins[chain]
        async with self._lock:
            trash = self._collect_layers([chain])
        await asyncio.to_thread(_remove_paths, trash)

    async def hold_layers(self, holder: str, image: Image) -> None:
        """Keep `image`'s layers while `holder` (a container ID) exists, even if the image
        is force-removed: the container's rootfs is an overlay on them."""
        chains = set(image.chain_ids)
        async with self._lock:
            self._rows.set_holds(holder, chains)
            self._holds[holder] = chains

    def holders(self) -> list[str]:
        """Who holds layers (container IDs): the container service drops the holds of
        containers a kill left unrecorded."""
        return list(self._holds)

    async def release_holds(self, holder: str) -> None:
        """The holder is gone: its layers go too unless something else needs them."""
        async with self._lock:
            chains = self._holds.pop(holder, set())
            self._rows.delete_holds(holder)
            trash = self._collect_layers(sorted(chains))
        await asyncio.to_thread(_remove_paths, trash)

    def _collect_layers(self, candidates: Iterable[str]) -> list[Path]:
        """Forget the unused layers among `candidates` and their parents (lock held)."""
        used = self._used_layers()
        removed: list[str] = []
        for chain in candidates:
            while chain and chain in self._layers and chain not in used:
                removed.append(chain)
                used.add(chain)  # visited
                chain = self._layers[chain].parent
        if not removed:
            return []
        self._rows.delete_layers(removed)
        return [self._trash_layer(c) for c in removed if self._layers.pop(c, None)]

    def _trash_layer(self, chain: str) -> Path:
        """Unlink a forgotten layer's short link and move its directory to the trash."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.root / LINKS / _link_name(chain.removeprefix("sha256:")))
        return self._trash(self.layer_dir(chain))

    def _trash(self, path: Path) -> Path:
        """Move a path out of the live tree at once; it is deleted later (or at startup)."""
        target = self.tmp_dir / f"trash-{secrets.token_hex(8)}"
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, target)
        return target

    async def iter_layer_tar(self, chain: str) -> AsyncIterator[bytes]:
        """The stored uncompressed tar of a layer, in 1 MiB chunks read off the loop."""
        with open(self.layer_tar_path(chain), "rb", buffering=0) as src:
            while chunk := await asyncio.to_thread(src.read, layerfs.BUFSIZE):
                yield chunk

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
            missing = [c for c in chains if c not in self._layers]
            if missing:
                raise InvalidParameter(f"layer {missing[0]} does not exist")
            image = self._images.get(image_id)
            now = rfc3339nano() if tag_time and refs else ""
            if image is None:
                await asyncio.to_thread(_write_atomic, self.blob_path(image_id), config)
                size = sum(self._layers[c].size for c in chains)
                image = Image(image_id, document, size, parent=parent, added=time.time())
            row = ImageRow(image_id, config, image.size, image.parent, image.added, now)
            self._rows.add_image(row, [_ref_row(r, image_id) for r in refs])
            self._images[image_id] = image
            self._raw[image_id] = config
            if now:
                image.last_tag_time = now
            self._point_refs(refs, image_id)
        return image

    def _point_refs(self, refs: Iterable[Reference], image_id: str) -> None:
        touched = {image_id}
        for ref in refs:
            key = ref.lookup_key()
            previous = self._refs.get(key)
            if previous is not None:
                touched.add(previous[1])
            self._refs[key] = (parse(key), image_id)
        for target in touched:
            self._refresh_names(target)

    async def import_image(
        self,
        chunks: AsyncIterator[bytes],
        repo_tag: str | None,
        changes: list[str],
        message: str,
        platform: str | None,
    ) -> Image:
        """docker import: one layer from the body tar, a config from host and `changes`."""
        ref = repo_tag_reference(repo_tag) if repo_tag else None
        os_name, arch, variant = _import_platform(platform)
        runtime_config = apply_changes({}, changes)
        layer = await self.register_layer(chunks)
        try:
            created = rfc3339nano()
            comment = message or "Imported from -"
            document: dict[str, Any] = {"comment": comment, "created": created}
            document["config"] = runtime_config
            document["architecture"] = arch
            if variant:
                document["variant"] = variant
            document["os"] = os_name
            document["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id]}
            document["history"] = [{"created": created, "comment": comment}]
            config = json.dumps(document, separators=(",", ":")).encode()
            image = await self.create_image(config, refs=[ref] if ref else [], tag_time=True)
        finally:
            await self.release_layer(layer.chain_id)
        if ref is not None:  # dockerd tags, then logs the import
            self._emit("tag", image.id, {"name": ref.familiar_string()})
        self._emit("import", image.id, {"name": image.id})
        return image

    async def load_archive(
        self, chunks: AsyncIterator[bytes], progress: Callable[[str], None] | None = None
    ) -> list[str]:
        """docker load: returns dockerd's lines (`Loaded image: busybox:latest`, ...).

        `progress`, when given, receives each of those lines as soon as it is known.
        """
        lines: list[str] = []

        def say(line: str) -> None:
            lines.append(line)
            if progress is not None:
                progress(line)

        work = self._work_dir("load")
        try:
            options = layerfs.ARCHIVE
            await with_stream(chunks, lambda f: layerfs.extract(f, work, options=options))
            entries = await asyncio.to_thread(read_archive, work)
            id_lines: list[str] = []
            for entry in entries:
                image = await self._load_one(entry.config, entry.layers, entry.repo_tags, say)
                if not entry.repo_tags:
                    id_lines.append(f"Loaded image ID: {image.id}")
            for line in id_lines:
                say(line)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        return lines

    async def _load_one(
        self, config: bytes, layer_files: list[Path], tags: list[str], say: Callable[[str], None]
    ) -> Image:
        try:
            document = json.loads(config)
        except ValueError as exc:
            raise InvalidParameter(f"invalid image config: {exc}") from None
        rootfs = document.get("rootfs") if isinstance(document, dict) else None
        if not isinstance(rootfs, dict):
            raise InvalidParameter("invalid image JSON, no RootFS key")
        image_os = document.get("os") or "linux"
        if image_os != "linux":
            raise InvalidParameter(f"cannot load {image_os} image on linux")
        diff_ids = list(rootfs.get("diff_ids") or [])
        if len(diff_ids) != len(layer_files):
            raise InvalidParameter(
                "invalid manifest, layers length mismatch: "
                f"expected {len(layer_files)}, got {len(diff_ids)}"
            )
        refs = [_loaded_tag(t) for t in tags]
        pinned: list[str] = []
        try:
            parent = ""
            for index, (diff_id, path) in enumerate(zip(diff_ids, layer_files, strict=True)):
                chain = chain_id(parent, diff_id)
                if self.pin_layer(chain):
                    pinned.append(chain)
                else:
                    try:
                        row = await self.register_layer(path, parent, expected_diff_id=diff_id)
                    except InvalidParameter as exc:
                        raise InvalidParameter(f"layer {index}: {exc.message}") from None
                    pinned.append(row.chain_id)
                parent = chain
            image_id = "sha256:" + hashlib.sha256(config).hexdigest()
            for ref in refs:
                previous = self._refs.get(ref.lookup_key())
                if previous is not None and previous[1] != image_id:
                    say(
                        f"The image {ref.familiar_string()} already exists, renaming the old "
                        f"one with ID {previous[1]} to empty string"
                    )
            image = await self.create_image(config, refs=refs)
        finally:
            for chain in pinned:
                await self.release_layer(chain)
        self._emit("load", image.id, {"name": image.id})
        for ref in refs:
            say(f"Loaded image: {ref.familiar_string()}")
        return image

    async def tag(self, source_ref: str, repo: str, tag: str = "") -> Image:
        """POST /images/{name}/tag: point repo[:tag] (default latest) at the image."""
        ref = repo_tag_reference(repo, tag)
        if ref is None:
            raise InvalidParameter("repository name must have at least one component")
        _refuse_digest_name(ref)
        image = self.get(source_ref)
        async with self._lock:
            if image.id not in self._images:
                raise NoSuchImage(source_ref)
            now = rfc3339nano()
            self._rows.set_ref(_ref_row(ref, image.id), last_tag_time=now)
            image.last_tag_time = now
            self._point_refs([ref], image.id)
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
        records: list[dict[str, str]] = []
        events: list[tuple[str, str]] = []
        trash: list[Path] = []
        before = dict(self._images)  # untag events carry the labels of what they untag
        async with self._lock:
            self._delete(ref, force, prune, check, records, events, trash)
        await asyncio.to_thread(_remove_paths, trash)
        for action, image_id in events:
            untagged = before.get(image_id) if action == "untag" else None
            self._emit(action, image_id, {"name": image_id}, untagged)
        return records

    def _delete(
        self,
        ref_text: str,
        force: bool,
        prune: bool,
        in_use: InUse,
        records: list[dict[str, str]],
        events: list[tuple[str, str]],
        trash: list[Path],
    ) -> None:
        image = self.get(ref_text)
        image_id = image.id
        repo_refs = self._refs_of(image_id)
        removed_repository_ref = False
        if not is_image_id_prefix(image_id, ref_text):
            if not force and _is_single_reference(repo_refs):
                user = in_use(image_id)
                if user is not None:
                    raise Conflict(
                        f'conflict: unable to remove repository reference "{ref_text}" '
                        f"(must force) - container {short_id(user[0])} is using its "
                        f"referenced image {short_id(image_id)}"
                    )
            parsed = parse(ref_text)
            removed = self._remove_ref(parsed)
            records.append({"Untagged": removed.familiar_string()})
            events.append(("untag", image_id))
            repo_refs = self._refs_of(image_id)
            if parsed.digest is None:
                same_repo_tags = [
                    r for r in repo_refs if r.digest is None and r.name == parsed.name
                ]
                if not same_repo_tags:
                    remaining = []
                    for other in repo_refs:
                        if other.digest is not None and other.name == parsed.name:
                            self._remove_ref(other)  # dockerd logs no event for these
                            records.append({"Untagged": other.familiar_string()})
                        else:
                            remaining.append(other)
                    repo_refs = remaining
            if repo_refs:
                return
            removed_repository_ref = True
        elif _is_single_reference(repo_refs):
            mask = _HARD if force else _HARD | (_SOFT & ~_ACTIVE_REFERENCE)
            conflict = self._check_conflict(image_id, mask, in_use)
            if conflict is not None:
                raise _conflict_error(image_id, conflict)
            for other in repo_refs:
                removed = self._remove_ref(other)
                records.append({"Untagged": removed.familiar_string()})
                events.append(("untag", image_id))
        self._delete_helper(
            image_id, force, prune, removed_repository_ref, in_use, records, events, trash
        )

    def _delete_helper(
        self,
        image_id: str,
        force: bool,
        prune: bool,
        quiet: bool,
        in_use: InUse,
        records: list[dict[str, str]],
        events: list[tuple[str, str]],
        trash: list[Path],
    ) -> None:
        mask = _HARD if force else _HARD | _SOFT
        conflict = self._check_conflict(image_id, mask, in_use)
        if conflict is not None:
            if quiet and (not self._is_dangling(image_id) or conflict.used):
                return
            raise _conflict_error(image_id, conflict)
        parent = self._images[image_id].parent
        for ref in self._refs_of(image_id):
            removed = self._remove_ref(ref)
            records.append({"Untagged": removed.familiar_string()})
            events.append(("untag", image_id))
        removed_layers = self._drop_image(image_id, trash)
        events.append(("delete", image_id))
        records.append({"Deleted": image_id})
        records.extend({"Deleted": chain} for chain in removed_layers)
        if prune and parent and parent in self._images:
            self._delete_helper(parent, False, True, True, in_use, records, events, trash)

    def _check_conflict(self, image_id: str, mask: int, in_use: InUse) -> _Conflict | None:
        if mask & _DEPENDENT_CHILD and self.children(image_id):
            return _Conflict(True, False, "image has dependent child images")
        user = in_use(image_id) if mask & (_RUNNING | _STOPPED) else None
        if mask & _RUNNING and user is not None and user[1]:
            message = f"image is being used by running container {short_id(user[0])}"
            return _Conflict(True, True, message)
        if mask & _ACTIVE_REFERENCE and self._refs_of(image_id):
            return _Conflict(False, False, "image is referenced in multiple repositories")
        if mask & _STOPPED and user is not None and not user[1]:
            message = f"image is being used by stopped container {short_id(user[0])}"
            return _Conflict(False, True, message)
        return None

    def _is_dangling(self, image_id: str) -> bool:
        return not self._refs_of(image_id) and not self.children(image_id)

    def _remove_ref(self, ref: Reference) -> Reference:
        """Untag (idempotent); returns the reference as removed (`:latest` added)."""
        ref = ref.with_default_tag()
        key = ref.lookup_key()
        entry = self._refs.pop(key, None)
        self._rows.delete_refs([key])
        if entry is not None:
            self._refresh_names(entry[1])
        return ref

    def _drop_image(self, image_id: str, trash: list[Path]) -> list[str]:
        """Forget an image and the layers only it used; returns those ChainIDs, top first."""
        image = self._images.pop(image_id)
        self._raw.pop(image_id, None)
        used = self._used_layers()
        freed = [c for c in reversed(image.chain_ids) if c not in used and c in self._layers]
        self._rows.delete_image(image_id, freed)
        for chain in freed:
            del self._layers[chain]
            trash.append(self._trash_layer(chain))
        trash.append(self._trash(self.blob_path(image_id)))
        return freed

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


# -- helpers ------------------------------------------------------------------------


def _ref_row(ref: Reference, image_id: str) -> RefRow:
    return RefRow(ref.lookup_key(), image_id, "digest" if ref.digest else "tag")


def _refuse_digest_name(ref: Reference) -> None:
    if ref.familiar_name == "sha256":
        raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")


def _loaded_tag(text: str) -> Reference:
    ref = parse(text)
    if ref.tag is None or ref.digest is not None:
        raise InvalidParameter(f'invalid tag "{text}"')
    _refuse_digest_name(ref)
    return ref


def _is_single_reference(refs: list[Reference]) -> bool:
    """dockerd's isSingleReference: one tag, plus digests of that same repository only."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    canonical: set[str] = set()
    for ref in refs:
        if ref.digest is not None:
            canonical.add(ref.name)
        elif single is None:
            single = ref
        else:
            return False
    single = single or refs[0]
    return len(canonical) == 1 and single.name in canonical


def _conflict_error(image_id: str, conflict: _Conflict) -> Conflict:
    forced = "cannot be forced" if conflict.hard else "must be forced"
    return Conflict(
        f"conflict: unable to delete {short_id(image_id)} ({forced}) - {conflict.message}"
    )


def _import_platform(platform: str | None) -> tuple[str, str, str]:
    host_os, host_arch, host_variant = host_os_arch()
    if not platform:
        return host_os, host_arch, host_variant
    parts = platform.lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidParameter(f"invalid platform: {platform}")
    if parts[0] != host_os:
        raise InvalidParameter("operating system is not supported")
    arch = parts[1] if len(parts) > 1 else host_arch
    variant = parts[2] if len(parts) > 2 else (host_variant if arch == host_arch else "")
    return parts[0], arch, variant


def _bool_filter(filters: dict[str, list[str]], key: str) -> bool:
    values = filters.get(key)
    if not values:
        return False
    truthy = {v.lower() in ("true", "1") for v in values}
    if any(v.lower() not in ("true", "1", "false", "0") for v in values) or len(truthy) > 1:
        raise InvalidParameter(f"invalid filter '{key}={','.join(values)}'")
    return truthy.pop()


def _match_labels(wanted: list[str], labels: Mapping[str, str]) -> bool:
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _copy(image: Image, tags: list[str], digests: list[str]) -> Image:
    return Image(
        image.id,
        image.config,
        image.size,
        repo_tags=tags,
        repo_digests=digests,
        parent=image.parent,
        added=image.added,
        last_tag_time=image.last_tag_time,
    )


def _api_image_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The image's runtime config as API v1.50+ shows it (no container-only fields)."""
    out: dict[str, Any] = {"User": config.get("User") or ""}
    if config.get("ExposedPorts"):
        out["ExposedPorts"] = config["ExposedPorts"]
    out["Env"] = config.get("Env") or None
    out["Cmd"] = config.get("Cmd") or None
    for key in ("Healthcheck", "ArgsEscaped"):
        if config.get(key):
            out[key] = config[key]
    out["Volumes"] = config.get("Volumes") or None
    out["WorkingDir"] = config.get("WorkingDir") or ""
    out["Entrypoint"] = config.get("Entrypoint") or None
    out["OnBuild"] = config.get("OnBuild") or None
    out["Labels"] = config.get("Labels") or None
    for key in ("StopSignal", "Shell"):
        if config.get(key):
            out[key] = config[key]
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    """temp + fsync + rename, then fsync the directory: a blob is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _link_name(hex_id: str) -> str:
    """26 characters of base32, as overlay2's link names, from the ChainID's first 128 bits."""
    return base64.b32encode(bytes.fromhex(hex_id)[:16]).decode().rstrip("=")


def _remove_path(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _remove_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        _remove_path(path)
