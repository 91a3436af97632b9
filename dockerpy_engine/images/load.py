"""Images made from a tar the client sends: docker load (a `docker save` archive) and
docker import (one filesystem tar, its config from the host and the `changes`)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errdefs import InvalidParameter
from . import layers as layerfs
from ._archive import host_os_arch, read_archive
from ._stream import with_stream
from .changes import apply_changes
from .layout import StoreLayout
from .reference import Reference, parse, repo_tag_reference
from .refstore import RefStore, refuse_digest_name
from .times import rfc3339nano
from .types import Image, chain_id

if TYPE_CHECKING:
    from .store import ImageStore


class Loader:
    """Registers the layers and creates the images in `store`."""

    def __init__(self, store: ImageStore, refs: RefStore, layout: StoreLayout) -> None:
        self._store = store
        self._refs = refs
        self._layout = layout

    async def import_image(
        self,
        chunks: AsyncIterator[bytes],
        repo_tag: str | None,
        changes: list[str],
        message: str,
        platform: str | None,
    ) -> Image:
        """docker import: one layer from the body tar, a config from host and `changes`."""
        store = self._store
        ref = repo_tag_reference(repo_tag) if repo_tag else None
        os_name, arch, variant = _import_platform(platform)
        runtime_config = apply_changes({}, changes)
        layer = await store.register_layer(chunks)
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
            image = await store.create_image(config, refs=[ref] if ref else [], tag_time=True)
        finally:
            await store.release_layer(layer.chain_id)
        if ref is not None:  # dockerd tags, then logs the import
            store.log_event("tag", image.id, {"name": ref.familiar_string()})
        store.log_event("import", image.id, {"name": image.id})
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

        work = self._layout.work_dir("load")
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
        store = self._store
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
                if store.pin_layer(chain):
                    pinned.append(chain)
                else:
                    try:
                        row = await store.register_layer(path, parent, expected_diff_id=diff_id)
                    except InvalidParameter as exc:
                        raise InvalidParameter(f"layer {index}: {exc.message}") from None
                    pinned.append(row.chain_id)
                parent = chain
            image_id = "sha256:" + hashlib.sha256(config).hexdigest()
            for ref in refs:
                previous = self._refs.target(ref)
                if previous is not None and previous != image_id:
                    say(
                        f"The image {ref.familiar_string()} already exists, renaming the old "
                        f"one with ID {previous} to empty string"
                    )
            image = await store.create_image(config, refs=refs)
        finally:
            for chain in pinned:
                await store.release_layer(chain)
        store.log_event("load", image.id, {"name": image.id})
        for ref in refs:
            say(f"Loaded image: {ref.familiar_string()}")
        return image


def _loaded_tag(text: str) -> Reference:
    ref = parse(text)
    if ref.tag is None or ref.digest is not None:
        raise InvalidParameter(f'invalid tag "{text}"')
    refuse_digest_name(ref)
    return ref


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
