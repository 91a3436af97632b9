"""Filesystem measurements shared by the container and volume services."""

from __future__ import annotations

import os
from pathlib import Path


def dir_size(root: Path) -> int:
    """Bytes used by the files under `root`, each hard-linked inode counted once (as dockerd's
    directory.Size). A blocking walk: call it from a worker thread."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(directory, name))
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
