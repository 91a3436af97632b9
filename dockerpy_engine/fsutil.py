"""Filesystem measurements shared by the container and volume services."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import lru_cache
from pathlib import Path

from . import errdefs

MNT_DETACH = 0x2


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


@lru_cache(maxsize=1)
def libc() -> ctypes.CDLL:
    """libc with errno kept, for mount(2) and umount2(2)."""
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def unmount(target: Path) -> None:
    """Unmount `target`; a mount still busy is detached (it goes when its last user does).
    Not mounted is fine."""
    if libc().umount2(os.fsencode(target), 0) == 0:
        return
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOENT):
        return  # not mounted
    if libc().umount2(os.fsencode(target), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):
            raise errdefs.System(f"unmount {target}: {os.strerror(code)}")
