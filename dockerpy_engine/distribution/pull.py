"""docker pull: manifest → platform → config → layers → image, with dockerd's progress.

Order of work, chosen so that an interruption at any byte leaves nothing half done:

1. the manifest is fetched (and verified when asked for by digest) before the first
   progress line, so "manifest unknown" and friends are ordinary 404 answers;
2. the config blob is fetched and verified; an image already in the store is not pulled
   again (its ID is the config's digest), and layers the store has are "Already exists";
3. layers download concurrently (the daemon-wide limit, default 3) into temp files under
   the store's tmp dir, each hashed as it streams and refused on mismatch, then are
   registered in order (extracted in a worker thread, DiffID checked against the config);
   every layer stays pinned until the image exists;
4. the image and its names (tag and `repo@digest`) are created last, in one transaction.

A crash before step 4 leaves temp files (emptied at start) and unreferenced layers
(collected at start), never a half image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ..errdefs import EngineError, InvalidParameter, NoSuchImage, NotFound
from ..images import ImageStore, chain_ids
from ..images.layers import BUFSIZE
from ..images.reference import Reference
from . import manifests
from ._errors import RegistryError, Unreachable, translate_pull_error
from .auth import repository_scope
from .client import RegistryClient, Repository
from .metadata import BlobRecord, LayerMetadata
from .progress import Progress, short_id
from .types import AuthConfig, Descriptor, Platform

log = logging.getLogger(__name__)

T = TypeVar("T")
EventSink = Callable[[str, str, dict[str, str]], None]


class Puller:
    """One pull request: its credentials, platform and progress output."""

    def __init__(
        self,
        client: RegistryClient,
        images: ImageStore,
        metadata: LayerMetadata,
        slots: asyncio.Semaphore,
        progress: Progress,
        *,
        auth: AuthConfig,
        platform: Platform | None,
        max_attempts: int,
        on_event: EventSink | None = None,
    ) -> None:
        self._client = client
        self._images = images
        self._metadata = metadata
        self._slots = slots
        self._progress = progress
        self._auth = auth
        self._platform = platform
        self._max_attempts = max_attempts
        self._on_event = on_event

    # -- entry ------------------------------------------------------------------------

    async def pull(self, ref: Reference) -> None:
        """A tag, a digest, or (a bare name) every tag of the repository."""
        if ref.tag is None and ref.digest is None:
            _, tags = await self._with_endpoint(ref, lambda repo: repo.tags())
            downloaded = False
            for tag in tags:
                downloaded = await self._pull_one(ref.with_tag(tag)) or downloaded
        else:
            downloaded = await self._pull_one(ref)
        what = "Downloaded newer image" if downloaded else "Image is up to date"
        await self._progress.message("", f"Status: {what} for {ref.familiar_string()}")
        if self._on_event is not None:
            self._on_event("pull", ref.familiar_string(), {"name": ref.familiar_name})

    async def _with_endpoint(
        self, ref: Reference, call: Callable[[Repository], Awaitable[T]]
    ) -> tuple[Repository, T]:
        return await with_pull_endpoint(self._client, ref, self._auth, call)

    # -- one reference ------------------------------------------------------------------

    async def _pull_one(self, ref: Reference) -> bool:
        """pullTag: True when the tag (or digest) now names a different image."""
        tag_or_digest = ref.digest or ref.tag or "latest"
        repo, (raw, content_type) = await self._with_endpoint(
            ref, lambda repo: repo.get_manifest(tag_or_digest)
        )
        # dockerd names the repository as the registry knows it: `library/busybox`, `app`
        await self._progress.message(tag_or_digest, f"Pulling from {ref.path}")
        top = manifests.parse(raw, content_type, ref.familiar_string())
        want = self._platform or manifests.host_platform()
        if isinstance(top, manifests.Index):
            entry = manifests.select_manifest(top, want)
            child_raw, child_type = await repo.get_manifest(entry.digest)
            manifest = manifests.parse(child_raw, child_type or entry.media_type)
            if not isinstance(manifest, manifests.Manifest):
                raise InvalidParameter(f"{entry.digest}: an index inside an index is not supported")
        else:
            manifest = top
        image_id, changed = await self._pull_manifest(repo, ref, manifest, top.digest)
        await self._progress.message("", f"Digest: {top.digest}")
        if self._platform is not None and isinstance(top, manifests.Manifest):
            await self._check_platform(ref, image_id)
        return changed

    async def _check_platform(self, ref: Reference, image_id: str) -> None:
        """A single-arch image of another platform is kept, with dockerd's warning."""
        assert self._platform is not None
        have = manifests.config_platform(self._images.get(image_id).config)
        if not manifests.matches(self._platform, have):
            await self._progress.message(
                "",
                f"WARNING: image with reference {ref.familiar_name} was found but does not "
                f"match the specified platform: wanted {self._platform}, actual: {have}",
            )

    async def _pull_manifest(
        self, repo: Repository, ref: Reference, manifest: manifests.Manifest, top_digest: str
    ) -> tuple[str, bool]:
        """Fetch what the store lacks, then create the image and point the names at it."""
        config_desc = manifest.config
        if config_desc.media_type and config_desc.media_type not in manifests.CONFIG_TYPES:
            raise InvalidParameter(
                f"Encountered remote {config_desc.media_type!r} when fetching: "
                "not a container image"
            )
        pinned: list[str] = []
        try:
            image = self._existing(config_desc.digest)
            if image is not None:
                config = self._images.config_bytes(image)
                image_id = image.id
            else:
                config = await repo.read_blob(config_desc, "image config")
                diff_ids = _check_config(config, manifest)
                await self._fetch_layers(repo, ref, manifest.layers, diff_ids, pinned)
                image_id = manifests.digest_of(config)
            refs, changed = self._new_refs(ref, image_id, top_digest)
            if image is None or refs:
                await self._images.create_image(config, refs=refs)
            return image_id, changed or image is None
        finally:
            for chain in pinned:
                await self._images.release_layer(chain)

    def _existing(self, config_digest: str) -> Any:
        if not config_digest.startswith("sha256:"):
            return None
        try:
            return self._images.get(config_digest)
        except (NoSuchImage, NotFound, InvalidParameter):
            return None

    def _lookup(self, ref: Reference) -> str | None:
        try:
            return self._images.get(str(ref)).id
        except (NoSuchImage, NotFound, InvalidParameter):
            return None

    def _new_refs(self, ref: Reference, image_id: str, digest: str) -> tuple[list[Reference], bool]:
        """dockerd's pullTag tail: which names to add, and whether the tag moved."""
        digest_ref = Reference(ref.domain, ref.path, None, digest)
        refs: list[Reference] = []
        if self._lookup(digest_ref) is None:  # a digest never moves to another image
            refs.append(digest_ref)
        if ref.digest is not None:
            return refs, self._lookup(ref) != image_id or bool(refs)
        tagged = ref.with_default_tag()
        if self._lookup(tagged) == image_id:
            return refs, False
        refs.append(tagged)
        return refs, True

    # -- layers -----------------------------------------------------------------------

    async def _fetch_layers(
        self,
        repo: Repository,
        ref: Reference,
        layers: list[Descriptor],
        diff_ids: list[str],
        pinned: list[str],
    ) -> None:
        """Download what is missing (concurrently), register in order; pins into `pinned`."""
        chains = chain_ids(diff_ids)
        first_missing = len(chains)
        for index, chain in enumerate(chains):
            if not self._images.pin_layer(chain):
                first_missing = index
                break
            pinned.append(chain)
        for index, layer in enumerate(layers):
            status = "Already exists" if index < first_missing else "Pulling fs layer"
            await self._progress.update(short_id(layer.digest), status)
        for layer, diff_id in zip(layers, diff_ids, strict=True):
            await self._metadata.add(
                diff_id, BlobRecord(layer.digest, ref.name, layer.media_type, layer.size)
            )
        wanted = layers[first_missing:]
        uses: dict[str, int] = {}
        for layer in wanted:
            uses[layer.digest] = uses.get(layer.digest, 0) + 1
        work = self._images.tmp_dir / f"pull-{secrets.token_hex(8)}"
        await asyncio.to_thread(work.mkdir, parents=True)
        downloads: dict[str, asyncio.Task[Path]] = {}
        try:
            for layer in wanted:
                if layer.digest not in downloads:
                    downloads[layer.digest] = asyncio.create_task(self._download(repo, layer, work))
            parent = chains[first_missing - 1] if first_missing else ""
            for layer, diff_id in zip(wanted, diff_ids[first_missing:], strict=True):
                path = await downloads[layer.digest]
                row = await self._register(path, layer, parent, diff_id)
                pinned.append(row.chain_id)
                parent = row.chain_id
                uses[layer.digest] -= 1
                if not uses[layer.digest]:
                    await asyncio.to_thread(_unlink, path)
                await self._progress.update(short_id(layer.digest), "Pull complete")
        finally:
            for task in downloads.values():
                task.cancel()
            for task in downloads.values():
                with contextlib.suppress(BaseException):
                    await task
            await asyncio.to_thread(_rmtree, work)

    async def _download(self, repo: Repository, layer: Descriptor, work: Path) -> Path:
        layer_id = short_id(layer.digest)
        if self._slots.locked():
            await self._progress.update(layer_id, "Waiting")
        async with self._slots:
            path = work / layer.digest.replace(":", "-")

            async def on_bytes(current: int, total: int) -> None:
                await self._progress.bar(layer_id, "Downloading", current, total)

            async def on_retry(attempt: int) -> None:
                plural = "s" if attempt != 1 else ""
                await self._progress.update(layer_id, f"Retrying in {attempt} second{plural}")

            await repo.fetch_blob(
                layer, path, on_bytes=on_bytes, on_retry=on_retry, max_attempts=self._max_attempts
            )
        await self._progress.update(layer_id, "Verifying Checksum")
        await self._progress.update(layer_id, "Download complete")
        return path

    async def _register(self, path: Path, layer: Descriptor, parent: str, diff_id: str) -> Any:
        layer_id = short_id(layer.digest)
        total = layer.size

        async def chunks() -> AsyncIterator[bytes]:
            handle = await asyncio.to_thread(open, path, "rb", buffering=0)
            done = 0
            try:
                while chunk := await asyncio.to_thread(handle.read, BUFSIZE):
                    done += len(chunk)
                    await self._progress.bar(layer_id, "Extracting", done, total)
                    yield chunk
            finally:
                handle.close()

        return await self._images.register_layer(chunks(), parent, expected_diff_id=diff_id)


async def with_pull_endpoint(
    client: RegistryClient,
    ref: Reference,
    auth: AuthConfig,
    call: Callable[[Repository], Awaitable[T]],
) -> tuple[Repository, T]:
    """Run `call` on the first endpoint that answers: mirrors, then HTTPS, then HTTP
    (insecure registries only). A mirror's refusal falls through to the origin."""
    endpoints = await client.config.endpoints(ref.domain, mirrors=True)
    scopes = [repository_scope(ref.path, "pull")]
    last: EngineError | None = None
    for endpoint in endpoints:
        repo = client.repository(endpoint, ref.path, auth, scopes)
        try:
            await repo.ping()
            result = await call(repo)
        except Unreachable as exc:
            log.info("pull %s: %s unreachable: %s", ref, endpoint.url, exc.message)
            last = exc
            continue
        except RegistryError as exc:
            if endpoint.mirror:
                log.info("pull %s: mirror %s: %s", ref, endpoint.url, exc.message)
                last = exc
                continue
            raise translate_pull_error(exc, ref.familiar_string(), ref.familiar_name) from None
        return repo, result
    assert last is not None
    raise translate_pull_error(last, ref.familiar_string(), ref.familiar_name)


def _check_config(config: bytes, manifest: manifests.Manifest) -> list[str]:
    """The config's DiffIDs, one per manifest layer; Linux images only."""
    try:
        document = orjson.loads(config)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"invalid image config: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidParameter("invalid image config: not a JSON object")
    os_name = document.get("os") or "linux"
    if os_name != "linux":
        raise InvalidParameter(
            f'image operating system "{os_name}" cannot be used on this platform'
        )
    rootfs = document.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise InvalidParameter("invalid image config: no rootfs.diff_ids")
    if len(diff_ids) != len(manifest.layers):
        raise InvalidParameter("layers from manifest don't match image configuration")
    return list(diff_ids)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
