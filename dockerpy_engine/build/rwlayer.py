"""A writable layer on an image outside any container: what COPY, ADD and WORKDIR change.

dockerd's classic builder copies into a fresh read-write layer of the image rather than into a
container, so those steps create no container and fire no container events. Here the layer is
an overlay upper dir under the image store's tmp dir, mounted with the image's layers below
it; its diff becomes the step's layer exactly as a container's does on commit. Under the vfs
storage driver it is a copy of the image instead (containers/vfs.py), used in place and
compared with the image's layers for the diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ..containers import archive
from ..containers.files import commit_upper
from ..containers.rootfs import RootfsMounts
from ..containers.vfs import make_tree
from ..graphdriver import VFS
from ..images import ImageStore
from ..images.types import Image


class ScratchLayer:
    """One step's layer. `rootfs()` mounts it for writing; `commit()` makes the image."""

    def __init__(self, images: ImageStore, mounts: RootfsMounts, base: Image | None) -> None:
        self._images = images
        self._mounts = mounts
        self._base = base
        self.directory = images.tmp_dir / f"build-layer-{secrets.token_hex(8)}"
        self._tree = self.directory / "rootfs" if images.graph_driver == VFS else None

    @property
    def _lowers(self) -> list[Path]:
        return self._images.lower_dirs(self._base) if self._base is not None else []

    async def __aenter__(self) -> ScratchLayer:
        if self._tree is not None:
            await asyncio.to_thread(self.directory.mkdir, 0o700, True)
            try:
                await asyncio.to_thread(make_tree, self._tree, self._lowers)
            except BaseException:
                await asyncio.to_thread(shutil.rmtree, self.directory, True)
                raise
            return self

        def make() -> None:
            for name in ("upper", "work"):
                (self.directory / name).mkdir(parents=True, mode=0o700)
            (self.directory / "upper").chmod(0o755)

        await asyncio.to_thread(make)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(shutil.rmtree, self.directory, True)

    @contextlib.asynccontextmanager
    async def rootfs(self) -> AsyncIterator[archive.ScopedRoot]:
        async with self._merged(writable=True) as merged:
            scope = await asyncio.to_thread(archive.ScopedRoot.open, merged)
            try:
                yield scope
            finally:
                scope.close()

    @contextlib.asynccontextmanager
    async def _merged(self, writable: bool) -> AsyncIterator[Path]:
        """The layer's view of the image: the vfs copy, or an overlay mounted meanwhile."""
        if self._tree is not None:
            yield self._tree
            return
        async with self._mounts.view(self.directory, self._lowers, writable=writable) as merged:
            yield merged

    @contextlib.asynccontextmanager
    async def read_only(self) -> AsyncIterator[Path]:
        """The image's files, for COPY --from (the upper stays empty)."""
        async with self._merged(writable=False) as merged:
            yield merged

    async def commit(self, document: Callable[[str], bytes]) -> str:
        base = self._base
        parent_chain = base.chain_ids[-1] if base is not None and base.chain_ids else ""
        parent_id = base.id if base is not None else ""
        tree = self._tree is not None
        changes_root = self._tree if self._tree is not None else self.directory / "upper"
        return await commit_upper(
            self._images, changes_root, self._lowers, parent_chain, parent_id, document, tree=tree
        )
