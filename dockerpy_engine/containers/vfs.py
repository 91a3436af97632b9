"""The vfs storage driver's root filesystems: a full copy of the image, no overlay.

dockerd's vfs keeps every layer as a complete directory at `<data-root>/vfs/dir/<id>`; here only
the containers' (and the builder's scratch layers') trees are such copies, made from the
unpacked overlay-form layers with the volumes' copy-up (whiteouts and opaque directories
applied; owners, modes, times, extended attributes, hard links, devices kept). The container
runs on its tree through a bind mount, `docker cp` and export read and write it in place, and
its changes are the tree compared with the image (treediff.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from ..volumes._copyup import copy_up


def trees_root(data_root: Path) -> Path:
    """Where the containers' trees are: `<data-root>/vfs/dir`."""
    return data_root / "vfs" / "dir"


def tree_dir(data_root: Path, container_id: str) -> Path:
    """dockerd's readable layout: `<data-root>/vfs/dir/<id>`."""
    return trees_root(data_root) / container_id


def make_tree(target: Path, lowers: Sequence[Path]) -> None:
    """Copy the image whose layers are `lowers` (top-most first) into the new directory
    `target`; on any error nothing is left of it. Blocking: run it in a worker thread."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.mkdir(mode=0o755)
    try:
        copy_up(lowers, "/", target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
