"""Where the image store keeps its files under the data root, and the file primitives that
keep them consistent across a crash: whole-or-absent writes, a trash, the start-up sweep.

Layout (human-readable on purpose):

    image/blobs/sha256/<hex>    image config JSON; the image ID is its sha256
    layers/<chainid-hex>/diff   a layer unpacked (overlay whiteouts), one per ChainID
    layers/<chainid-hex>/layer.tar  its uncompressed tar, so save/push reproduce the DiffID
    layer-links/<26 chars>      a short link to a layer's diff dir, as overlay2's `l/`: the
                                lowerdir list of a long chain fits in a page with them
    tmp/                        work in progress (extraction, load archives, trash)
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import secrets
import shutil
import stat
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

LINKS = "layer-links"  # the layers' short links


class StoreLayout:
    """The paths of one data root. Only `layer_link`, `work_dir`, `trash*` and `sweep` touch
    the disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def blob_path(self, image_id: str) -> Path:
        return self.root / "image" / "blobs" / "sha256" / image_id.removeprefix("sha256:")

    def layer_dir(self, chain: str) -> Path:
        return self.root / "layers" / chain.removeprefix("sha256:")

    def diff_dir(self, chain: str) -> Path:
        return self.layer_dir(chain) / "diff"

    def layer_tar_path(self, chain: str) -> Path:
        """The uncompressed tar of a layer, whose sha256 is its DiffID (for save/push)."""
        return self.layer_dir(chain) / "layer.tar"

    def layer_link(self, chain: str) -> Path:
        """The layer's short name for overlay mounts: `layer-links/<26 chars>`, a link to
        `../layers/<chainid-hex>/diff` (overlay2's `l/` links, named after the ChainID here).
        Made with the layer, and again here when missing or wrong; removed with the layer."""
        hex_id = chain.removeprefix("sha256:")
        link = self._link_path(chain)
        target = f"../layers/{hex_id}/diff"
        with contextlib.suppress(OSError):
            if os.readlink(link) == target:
                return link
        link.parent.mkdir(exist_ok=True)
        temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
        os.symlink(target, temporary)
        os.replace(temporary, link)
        return link

    def mount_lowers(self, chains: list[str]) -> list[Path]:
        """The short links of a chain's layers (base first), in lowerdir order (top first)."""
        return [self.layer_link(c) for c in reversed(chains)]

    def _link_path(self, chain: str) -> Path:
        return self.root / LINKS / _link_name(chain.removeprefix("sha256:"))

    def work_dir(self, kind: str) -> Path:
        path = self.tmp_dir / f"{kind}-{secrets.token_hex(8)}"
        path.mkdir(parents=True)
        return path

    def trash(self, path: Path) -> Path:
        """Move a path out of the live tree at once; it is deleted later (or at startup)."""
        target = self.tmp_dir / f"trash-{secrets.token_hex(8)}"
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, target)
        return target

    def trash_layer(self, chain: str) -> Path:
        """Unlink a forgotten layer's short link and move its directory to the trash."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._link_path(chain))
        return self.trash(self.layer_dir(chain))

    def sweep(self, layers: Collection[str], configs: Mapping[str, bytes]) -> None:
        """Empty tmp/, delete layer dirs and blobs the metadata does not name (`layers` by
        ChainID, `configs` by image ID), restore missing blobs from `configs`."""
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        layers_root = self.root / "layers"
        layers_root.mkdir(parents=True, exist_ok=True)
        known = {c.removeprefix("sha256:") for c in layers}
        for entry in layers_root.iterdir():
            if entry.name not in known:
                log.info("removing unreferenced layer directory %s", entry)
                remove_path(entry)
        links = self.root / LINKS
        for entry in links.iterdir() if links.is_dir() else ():
            if not entry.exists():  # its layer is gone (or a half-made one)
                remove_path(entry)
        for chain in layers:
            if not self.diff_dir(chain).is_dir():
                log.error("layer %s is recorded but its directory is missing", chain)
        blobs = self.blob_path("sha256:x").parent
        blobs.mkdir(parents=True, exist_ok=True)
        for entry in blobs.iterdir():
            if f"sha256:{entry.name}" not in configs:
                remove_path(entry)
        for image_id, raw in configs.items():
            if not self.blob_path(image_id).is_file():
                write_atomic(self.blob_path(image_id), raw)


def write_atomic(path: Path, data: bytes) -> None:
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


def remove_path(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def remove_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        remove_path(path)
