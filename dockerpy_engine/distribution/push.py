"""docker push: layers (existence check, cross-repo mount, gzip upload), config, manifest.

As dockerd's push_v2.go, per layer, top-most first:

1. a layer already sent in this push is "Layer already exists";
2. blobs recorded for its DiffID in this repository are asked for (HEAD) → "Layer already
   exists"; one recorded in another repository of the same registry is mounted
   (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`) → "Mounted from <repo>";
3. otherwise the stored uncompressed tar is gzipped on the fly (in worker threads, the next
   MiB compressed while the last one is sent) and streamed in one PATCH, then committed
   with `PUT …?digest=`; on a transport failure the upload starts over (a few times).

Then the config blob (monolithic upload if missing) and the schema2 manifest (PUT by tag);
the manifest's digest is reported (`<tag>: digest: sha256:… size: N` and the aux message)
and recorded as the image's `repo@digest`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ..errdefs import EngineError, NotFound
from ..images import Image, ImageStore, parse
from ..images.layers import BUFSIZE
from ..images.reference import Reference
from ..store.images import LayerRow
from . import manifests
from ._blobs import GzipStream
from ._errors import Unreachable
from .auth import repository_scope
from .client import RegistryClient, Repository
from .metadata import BlobRecord, LayerMetadata
from .progress import Progress, short_id
from .types import AuthConfig, Descriptor

log = logging.getLogger(__name__)

MAX_UPLOAD_ATTEMPTS = 3
MAX_EXISTENCE_CHECKS = 3
MAX_MOUNT_ATTEMPTS = 3
EventSink = Callable[[str, str, dict[str, str]], None]


def push_targets(images: ImageStore, ref: Reference) -> list[tuple[Reference, Image]]:
    """The tags to push for `ref` (one, or every tag of the repository), checked before the
    stream starts: NotFound with dockerd's wording when there is nothing to push."""
    found: list[tuple[Reference, Image]] = []
    for image in images.all():
        for tag in image.repo_tags:
            named = parse(tag)
            if named.name == ref.name and named.tag is not None:
                found.append((named, image))
    if not found:
        raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    if ref.tag is not None:
        found = [(r, i) for r, i in found if r.tag == ref.tag]
        if not found:
            raise NotFound(f"tag does not exist: {ref.familiar_string()}")
    return sorted(found, key=lambda item: str(item[0]))


class Pusher:
    """One push request: its credentials and progress output."""

    def __init__(
        self,
        client: RegistryClient,
        images: ImageStore,
        metadata: LayerMetadata,
        slots: asyncio.Semaphore,
        progress: Progress,
        *,
        auth: AuthConfig,
        on_event: EventSink | None = None,
    ) -> None:
        self._client = client
        self._images = images
        self._metadata = metadata
        self._slots = slots
        self._progress = progress
        self._auth = auth
        self._on_event = on_event
        self._remote: dict[str, Descriptor] = {}  # DiffID -> blob, pushed in this request

    async def push(self, ref: Reference, targets: list[tuple[Reference, Image]]) -> None:
        await self._progress.message("", f"The push refers to repository [{ref.name}]")
        repo = await self._open(ref)
        for tagged, image in targets:
            await self._push_tag(repo, tagged, image)
        if self._on_event is not None:
            self._on_event("push", ref.familiar_string(), {"name": ref.familiar_name})

    async def _open(self, ref: Reference) -> Repository:
        """The first endpoint that answers /v2/ (HTTPS, then HTTP for insecure ones)."""
        scopes = [repository_scope(ref.path, "pull", "push")]
        last: EngineError | None = None
        for endpoint in await self._client.config.endpoints(ref.domain, mirrors=False):
            repo = self._client.repository(endpoint, ref.path, self._auth, scopes)
            try:
                await repo.ping()
            except Unreachable as exc:
                last = exc
                continue
            return repo
        assert last is not None
        raise last

    async def _push_tag(self, repo: Repository, ref: Reference, image: Image) -> None:
        rows = self._images.layers(image)
        for row in reversed(rows):
            await self._progress.update(short_id(row.diff_id), "Preparing")
        tasks: dict[str, asyncio.Task[Descriptor]] = {}
        try:
            for row in reversed(rows):
                if row.diff_id not in tasks:
                    tasks[row.diff_id] = asyncio.create_task(self._upload(repo, ref, row))
            await asyncio.gather(*tasks.values())
        finally:
            for task in tasks.values():
                task.cancel()
            for task in tasks.values():
                with contextlib.suppress(BaseException):
                    await task
        layers = [tasks[row.diff_id].result() for row in rows]
        config = self._images.config_bytes(image)
        if await repo.head_blob(image.id) is None:
            await repo.put_blob(config, image.id)
        config_desc = Descriptor(manifests.DOCKER_CONFIG, image.id, len(config))
        manifest = manifests.schema2_manifest(config_desc, layers)
        assert ref.tag is not None
        await repo.put_manifest(ref.tag, manifest, manifests.DOCKER_MANIFEST)
        digest = manifests.digest_of(manifest)
        await self._progress.message("", f"{ref.tag}: digest: {digest} size: {len(manifest)}")
        digest_ref = Reference(ref.domain, ref.path, None, digest)
        if not self._images.exists(str(digest_ref)):
            await self._images.create_image(config, refs=[digest_ref])
        await self._progress.aux({"Tag": ref.tag, "Digest": digest, "Size": len(manifest)})

    # -- one layer ----------------------------------------------------------------------

    async def _upload(self, repo: Repository, ref: Reference, row: LayerRow) -> Descriptor:
        layer_id = short_id(row.diff_id)
        if self._slots.locked():
            await self._progress.update(layer_id, "Waiting")
        async with self._slots:
            known = self._remote.get(row.diff_id)
            if known is not None:
                await self._progress.update(layer_id, "Layer already exists")
                return known
            descriptor = await self._upload_layer(repo, ref, row, layer_id)
            self._remote[row.diff_id] = descriptor
            return descriptor

    async def _upload_layer(
        self, repo: Repository, ref: Reference, row: LayerRow, layer_id: str
    ) -> Descriptor:
        records = [
            r
            for r in await self._metadata.get(row.diff_id)
            if r.registry == ref.domain and r.media_type in manifests.GZIP_LAYER_TYPES | {""}
        ]
        here = [r for r in records if r.path == ref.path][:MAX_EXISTENCE_CHECKS]
        for record in here:
            size = await repo.head_blob(record.digest)
            if size is not None:
                await self._progress.update(layer_id, "Layer already exists")
                return Descriptor(manifests.DOCKER_LAYER, record.digest, size or record.size)
        location: str | None = None
        elsewhere = [r for r in records if r.path != ref.path][:MAX_MOUNT_ATTEMPTS]
        for record in elsewhere:
            location, mounted = await repo.start_upload(mount=(record.digest, record.path))
            if mounted:
                size = record.size or await repo.head_blob(record.digest) or 0
                await self._progress.update(layer_id, f"Mounted from {record.path}")
                await self._record(row.diff_id, ref, record.digest, size)
                return Descriptor(manifests.DOCKER_LAYER, record.digest, size)
            break  # the registry opened an upload instead: use it
        descriptor = await self._send(repo, row, layer_id, location)
        await self._record(row.diff_id, ref, descriptor.digest, descriptor.size)
        await self._progress.update(layer_id, "Pushed")
        return descriptor

    async def _record(self, diff_id: str, ref: Reference, digest: str, size: int) -> None:
        await self._metadata.add(
            diff_id, BlobRecord(digest, ref.name, manifests.DOCKER_LAYER, size)
        )

    async def _send(
        self, repo: Repository, row: LayerRow, layer_id: str, location: str | None
    ) -> Descriptor:
        """Compress and stream the layer; start over on a transport failure."""
        path = self._images.layer_tar_path(row.chain_id)
        attempt = 0
        while True:
            attempt += 1
            try:
                if location is None:
                    location, _ = await repo.start_upload()
                    assert location is not None
                gzip = GzipStream()
                chunks = _compressed(path, gzip, self._progress, layer_id, row.tar_size)
                location = await repo.upload_stream(location, chunks)
                await repo.finish_upload(location, gzip.digest)
                return Descriptor(manifests.DOCKER_LAYER, gzip.digest, gzip.size)
            except Unreachable as exc:
                location = None
                if attempt >= MAX_UPLOAD_ATTEMPTS:
                    raise
                log.info("upload of %s failed (%s); retrying", row.diff_id, exc.message)
                plural = "s" if attempt != 1 else ""
                await self._progress.update(layer_id, f"Retrying in {attempt} second{plural}")
                await asyncio.sleep(attempt)


async def _compressed(
    path: Path, gzip: GzipStream, progress: Progress, layer_id: str, total: int
) -> AsyncIterator[bytes]:
    """The layer tar, gzipped MiB by MiB in a worker thread, one MiB ahead of the sender."""
    handle = await asyncio.to_thread(open, path, "rb", buffering=0)

    def step() -> bytes | None:
        data = handle.read(BUFSIZE)
        if not data:
            return None
        return gzip.feed(data)

    pending = asyncio.ensure_future(asyncio.to_thread(step))
    try:
        while True:
            out = await pending
            if out is None:
                break
            pending = asyncio.ensure_future(asyncio.to_thread(step))
            await progress.bar(layer_id, "Pushing", gzip.consumed, total)
            if out:
                yield out
        tail = await asyncio.to_thread(gzip.finish)
        if tail:
            yield tail
    finally:
        with contextlib.suppress(BaseException):
            await pending  # the worker may still be reading: let it finish before closing
        handle.close()
