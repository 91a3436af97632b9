"""The host-side /dev/shm of an `--ipc shareable` container (dockerd's ShmPath).

A bind mount cannot take its source from another mount namespace, so a container whose /dev/shm
others may join (`--ipc container:<it>`) gets, as with dockerd, a tmpfs mounted on the host at
`<container dir>/shm` and bind-mounted as its /dev/shm; joiners bind-mount the same directory.
The tmpfs is mounted before the task is created and detached when the container exits or is
removed (dockerd's setupIpcDirs / UnmountIpcMount). Blocking: call it in a thread.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from .. import errdefs
from ..fsutil import libc, unmount

__all__ = ["mount", "unmount"]

_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_NOEXEC = 0x8


def mount(path: Path, size: int, owner: tuple[int, int] = (0, 0)) -> None:
    """Mount the container's shm tmpfs (mode 1777, `size` bytes) unless already mounted; its
    root is `owner`'s (the remapped root under --userns-remap, as dockerd's)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.path.ismount(path):
        return
    data = f"mode=1777,size={size}".encode()
    flags = _MS_NOEXEC | _MS_NOSUID | _MS_NODEV
    if libc().mount(b"shm", os.fsencode(path), b"tmpfs", flags, data) != 0:
        errno = ctypes.get_errno()
        raise errdefs.System(f"mounting shm tmpfs: {os.strerror(errno).lower()}")
    if owner != (0, 0):
        os.chown(path, *owner)
