"""`docker save`: images as one tar holding both layouts dockerd 25+ writes.

    blobs/sha256/<hex>   image configs, layer tars (uncompressed) and one OCI manifest per image
    index.json           OCI image index, a descriptor per tag (io.containerd.image.name +
                         org.opencontainers.image.ref.name annotations)
    manifest.json        docker-save manifest: Config, RepoTags, Layers (+ Parent)
    oci-layout           {"imageLayoutVersion": "1.0.0"}
    repositories         {"name": {"tag": "<top layer DiffID hex>"}}, when something is tagged

Entries come in the lexical order of dockerd's archive.Tar walk of its temp directory. The layer
blobs are our kept `layer.tar` files (their sha256 is the DiffID), so `docker load` of the
archive, here or in a real dockerd, recreates the same image IDs.

Names are resolved as dockerd's tarexport parseNames does: an ID (or `sha256:` prefix) saves the
image untagged; `name:tag` and `name@digest` must exist ("reference does not exist" otherwise);
a bare repository name saves every tag of it, or, when it has none, is searched as an ID prefix
("No such image: x"). Every error is raised before the first byte: resolution, platform check,
and a stat of every layer happen before the stream starts, and the images' layers are pinned
until it ends, so a concurrent `docker rmi` cannot pull a layer from under the stream.

Not written: dockerd's legacy per-layer v1 JSON blobs. Nothing in either manifest refers to
them (they exist for pre-1.10 loaders) and they would need Go's field-by-field V1Image encoding.

The tar is written by a thread of its own: headers and the small JSON files batched, layer files
read in 4 MiB pieces, handed to the event loop through a short queue so the reader never gets
ahead of the client by more than a few chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tarfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errdefs import EngineError, NoSuchImage, NotFound, System
from .platforms import Platform, check_platform, image_platform
from .reference import DigestReference, Reference, parse, parse_any
from .store import ImageStore
from .times import parse_time
from .types import Image

MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_LAYER = "application/vnd.oci.image.layer.v1.tar"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
OCI_LAYOUT = b'{"imageLayoutVersion": "1.0.0"}'  # tarexport's ociLayoutContent, space included

CHUNK = 4 << 20  # layer reads and the size at which batched small writes are handed over
_QUEUE_DEPTH = 4
_BLOCK = 512


# -- JSON as Go writes it ----------------------------------------------------------------


def go_json(value: Any, newline: bool = False) -> bytes:
    """encoding/json: compact, HTML-escaped; json.Encoder adds a newline (`newline=True`).

    Maps are given here as dicts already in Go's order (struct fields in declaration order,
    map keys sorted), so this only has to get the byte form right.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n" if newline else text).encode()


# -- which images, under which names ------------------------------------------------------


@dataclass(slots=True)
class _Selected:
    """One image to save, its config bytes (taken with it) and the tags it is saved under."""

    image: Image
    config: bytes
    tags: list[Reference] = field(default_factory=list)

    def add_tag(self, ref: Reference) -> None:
        if ref.digest is not None:
            return  # a digest reference saves the image, but names nothing in the archive
        ref = ref.with_default_tag()
        if all(str(ref) != str(t) for t in self.tags):
            self.tags.append(ref)


def select_images(
    store: ImageStore, names: Iterable[str], platform: Platform | None = None
) -> dict[str, _Selected]:
    """tarexport.parseNames: image ID -> what to save, in the order the names came."""
    selected: dict[str, _Selected] = {}

    def add(image: Image, ref: Reference | None, name: str) -> None:
        entry = selected.get(image.id)
        if entry is None:
            check_platform(platform, image.config, name)
            image_os = image.config.get("os") or "linux"
            if image_os != "linux":
                raise System(f'os "{image_os}" is not supported')
            entry = selected[image.id] = _Selected(image, store.config_bytes(image))
        if ref is not None:
            entry.add_tag(ref)

    for name in names:
        parsed = parse_any(name)
        if isinstance(parsed, DigestReference):
            add(store.get(parsed.digest), None, name)
        elif parsed.familiar_name == "sha256":
            add(store.get(name), None, name)  # a short `sha256:` ID prefix
        elif parsed.tag is None and parsed.digest is None:
            named = _references_by_name(store, parsed)
            for ref, image in named:
                add(image, ref, name)
            if not named:
                add(_search_id(store, name), None, name)
        else:
            add(_get_reference(store, name), parsed, name)
    return selected


def _references_by_name(store: ImageStore, wanted: Reference) -> list[tuple[Reference, Image]]:
    """refstore.ReferencesByName: every tag and digest of one repository, sorted lexically."""
    found: list[tuple[Reference, Image]] = []
    for image in store.all():
        for text in (*image.repo_tags, *image.repo_digests):
            ref = parse(text)
            if ref.name == wanted.name:
                found.append((ref, image))
    found.sort(key=lambda pair: str(pair[0]))
    return found


def _search_id(store: ImageStore, name: str) -> Image:
    """image store Search: a unique ID prefix; dockerd names the term as it was typed."""
    try:
        return store.get(name)
    except NoSuchImage:
        raise NoSuchImage(name) from None


def _get_reference(store: ImageStore, name: str) -> Image:
    """refstore.Get: an exact `name:tag` or `name@digest`, else dockerd's ErrDoesNotExist."""
    try:
        return store.get(name)
    except NoSuchImage:
        raise NotFound("reference does not exist") from None


# -- the archive's contents -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """A tar member: a directory, small bytes, or a layer file (path and stat'ed size)."""

    name: str
    mtime: int
    data: bytes | None = None
    path: Path | None = None
    size: int = 0

    @property
    def is_dir(self) -> bool:
        return self.data is None and self.path is None


@dataclass(slots=True)
class SavePlan:
    """Everything the stream will contain, settled before its first byte."""

    entries: list[_Entry]
    image_ids: list[str]


def plan_archive(
    store: ImageStore, selected: dict[str, _Selected], layer_sizes: dict[str, int]
) -> SavePlan:
    """Build the JSON documents and the member list; `layer_sizes` maps ChainID -> tar size."""
    now = int(time.time())
    blobs: dict[str, _Entry] = {}
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    tagged: list[dict[str, Any]] = []
    untagged: list[dict[str, Any]] = []
    dir_mtime = now
    for image_id, entry in selected.items():
        image = entry.image
        diff_ids = image.diff_ids
        chains = image.chain_ids
        if not diff_ids:
            raise System("empty export - not implemented")
        created = parse_time(image.created)
        mtime = int(created) if created is not None else now
        dir_mtime = mtime
        config = entry.config
        hex_id = image_id.removeprefix("sha256:")
        blobs.setdefault(hex_id, _Entry(f"blobs/sha256/{hex_id}", mtime, data=config))
        layers: list[dict[str, Any]] = []
        for diff_id, chain in zip(diff_ids, chains, strict=True):
            hex_diff = diff_id.removeprefix("sha256:")
            size = layer_sizes[chain]
            if hex_diff not in blobs:
                path = store.layer_tar_path(chain)
                blobs[hex_diff] = _Entry(f"blobs/sha256/{hex_diff}", mtime, path=path, size=size)
            layers.append({"mediaType": MEDIA_TYPE_LAYER, "digest": diff_id, "size": size})
        platform = image_platform(image.config).to_oci()
        oci_manifest = go_json(
            {
                "schemaVersion": 2,
                "mediaType": MEDIA_TYPE_MANIFEST,
                "config": {
                    "mediaType": MEDIA_TYPE_CONFIG,
                    "digest": image_id,
                    "size": len(config),
                    "platform": platform,
                },
                "layers": layers,
            }
        )
        manifest_digest = _sha256(oci_manifest)
        hex_manifest = manifest_digest.removeprefix("sha256:")
        blobs.setdefault(hex_manifest, _Entry(f"blobs/sha256/{hex_manifest}", 0, oci_manifest))
        descriptor = {
            "mediaType": MEDIA_TYPE_MANIFEST,
            "digest": manifest_digest,
            "size": len(oci_manifest),
        }
        for ref in entry.tags:
            assert ref.tag is not None
            repositories.setdefault(ref.familiar_name, {})[ref.tag] = diff_ids[-1][7:]
            annotations = {ANNOTATION_IMAGE_NAME: str(ref), ANNOTATION_REF_NAME: ref.tag}
            tagged.append({**descriptor, "annotations": annotations, "platform": platform})
        if not entry.tags:
            untagged.append({**descriptor, "platform": platform})
        item: dict[str, Any] = {
            "Config": f"blobs/sha256/{hex_id}",
            "RepoTags": [r.familiar_string() for r in entry.tags] or None,
            "Layers": [f"blobs/sha256/{d.removeprefix('sha256:')}" for d in diff_ids],
        }
        if image.parent and image.parent in selected and image.parent != image_id:
            item["Parent"] = image.parent  # validatedParentLinks: only a parent saved too
        manifest.append(item)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_INDEX,
        "manifests": tagged or untagged,  # untagged images are listed when nothing is tagged
    }
    entries: list[_Entry] = []
    if blobs:
        entries += [_Entry("blobs/", dir_mtime), _Entry("blobs/sha256/", dir_mtime)]
        entries += [blobs[key] for key in sorted(blobs)]
    entries.append(_Entry("index.json", now, go_json(index)))
    entries.append(_Entry("manifest.json", 0, go_json(manifest, newline=True)))
    entries.append(_Entry("oci-layout", 0, OCI_LAYOUT))
    if repositories:
        ordered = {name: dict(sorted(tags.items())) for name, tags in sorted(repositories.items())}
        entries.append(_Entry("repositories", 0, go_json(ordered, newline=True)))
    return SavePlan(entries, list(selected))


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- the tar stream ----------------------------------------------------------------------


class _Closed(Exception):
    """The consumer went away: the writing thread stops at its next hand-over."""


class _Pipe:
    """A bounded hand-over from one producing thread to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int = _QUEUE_DEPTH) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._slots = threading.Semaphore(depth)
        self._closed = threading.Event()

    def put(self, item: bytes | BaseException | None) -> None:
        """Thread side: wait for a free slot (or for the consumer to leave), then hand over."""
        while not self._slots.acquire(timeout=0.2):
            if self._closed.is_set():
                raise _Closed
        if self._closed.is_set():
            raise _Closed
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def get(self) -> bytes | BaseException | None:
        item = await self._queue.get()
        self._slots.release()
        return item

    def close(self) -> None:
        self._closed.set()


class _TarWriter:
    """archive/tar as Go writes it: 512-byte headers, data padded to a block, two zero blocks
    at the end and no padding to a 10 KiB record. Small writes are batched into one chunk."""

    def __init__(self, emit: Callable[[bytes], None]) -> None:
        self._emit = emit
        self._buffer = bytearray()

    def _write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._emit(bytes(self._buffer))
            self._buffer.clear()

    def add(self, entry: _Entry) -> None:
        info = tarfile.TarInfo(entry.name)
        info.mtime = entry.mtime
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if entry.is_dir:
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        else:
            info.type, info.mode = tarfile.REGTYPE, 0o644
            info.size = len(entry.data) if entry.data is not None else entry.size
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if entry.data is not None:
            self._write(entry.data)
        elif entry.path is not None:
            self.flush()
            self._copy_file(entry.path, entry.size)
        tail = info.size % _BLOCK
        if tail:
            self._write(b"\0" * (_BLOCK - tail))

    def _copy_file(self, path: Path, size: int) -> None:
        with open(path, "rb", buffering=0) as src:
            with contextlib.suppress(OSError, AttributeError):
                os.posix_fadvise(src.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            remaining = size
            while remaining:
                chunk = src.read(min(CHUNK, remaining))
                if not chunk:
                    raise System(f"layer file {path} is shorter than when the save started")
                self._emit(chunk)
                remaining -= len(chunk)

    def close(self) -> None:
        self._write(b"\0" * (2 * _BLOCK))
        self.flush()


def _produce(plan: SavePlan, pipe: _Pipe) -> None:
    try:
        tar = _TarWriter(pipe.put)
        for entry in plan.entries:
            tar.add(entry)
        tar.close()
        pipe.put(None)
    except _Closed:
        pass
    except BaseException as exc:
        error = exc if isinstance(exc, EngineError) else System(f"save failed: {exc}")
        with contextlib.suppress(_Closed):
            pipe.put(error)


def _start_writer(plan: SavePlan, pipe: _Pipe) -> asyncio.Future[None]:
    """Run the tar writer on a thread of its own, not the loop's default pool: it lives as
    long as the client takes to read the archive, and a few slow `docker save`s must not
    starve the pool's other users. The future resolves when the thread is done."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def run() -> None:
        try:
            _produce(plan, pipe)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(finish)

    threading.Thread(target=run, name="image-save", daemon=True).start()
    return done


async def _stream(plan: SavePlan) -> AsyncIterator[bytes]:
    """The tar's bytes as the worker thread writes them; closing early stops the thread."""
    pipe = _Pipe(asyncio.get_running_loop())
    task = _start_writer(plan, pipe)
    try:
        while True:
            item = await pipe.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        pipe.close()
        interrupted = False
        while not task.done():  # the thread holds open files: let it finish first
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                interrupted = True
            except BaseException:
                break
        if interrupted:
            raise asyncio.CancelledError


# -- the entry point -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def save_archive(
    store: ImageStore, names: Iterable[str], platform: Platform | None = None
) -> AsyncIterator[AsyncIterator[bytes]]:
    """GET /images/get: resolve and check everything (errors raise here, before any byte),
    then yield the archive's chunks. The images' layers stay pinned until the block ends."""
    selected = select_images(store, names, platform)
    # No await between the lookup and the pins, so no delete can come in between; a pinned
    # top layer keeps its parents too.
    tops = {s.image.chain_ids[-1] for s in selected.values() if s.image.chain_ids}
    pinned = [chain for chain in sorted(tops) if store.pin_layer(chain)]
    stream: AsyncIterator[bytes] | None = None
    try:
        chains = {c for s in selected.values() for c in s.image.chain_ids}
        sizes = await asyncio.to_thread(_stat_layers, store, chains)
        plan = plan_archive(store, selected, sizes)
        for image_id in plan.image_ids:
            store._emit("save", image_id, {"name": image_id})
        stream = _stream(plan)
        yield stream
    finally:
        if stream is not None:
            await stream.aclose()  # type: ignore[attr-defined]
        for chain in pinned:
            await store.release_layer(chain)


def _stat_layers(store: ImageStore, chains: Iterable[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for chain in chains:
        try:
            sizes[chain] = os.stat(store.layer_tar_path(chain)).st_size
        except OSError as exc:
            raise System(f"layer {chain} cannot be read: {exc.strerror or exc}") from None
    return sizes
