"""Reading files of an image's merged rootfs without mounting it.

The container service needs e.g. /etc/passwd to resolve `USER name`. The layers are in
overlay form (whiteouts are 0/0 char devices, opaque dirs carry trusted.overlay.opaque),
so a lookup walks them top-most first the way overlayfs does, and resolves symlinks within
the image, never on the host.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from .layers import OVERLAY_OPAQUE_XATTR


class MergedView:
    """Path lookups through overlay-form layers, top-most first, as overlayfs resolves them."""

    def __init__(self, dirs: list[Path]) -> None:
        self._dirs = dirs

    def read(self, path: str, limit: int = 64 << 20) -> bytes | None:
        found = self._resolve([p for p in path.split("/") if p])
        if found is None:
            return None
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a fifo must not block
        try:
            fd = os.open(found, flags)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        with os.fdopen(fd, "rb") as src:
            return src.read(limit)

    def _resolve(self, parts: list[str]) -> Path | None:
        resolved: list[str] = []
        pending = list(reversed(parts))
        links = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            hit = self._lookup([*resolved, part])
            if hit is None:
                return None
            path, st = hit
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > 40:
                    return None
                target = os.readlink(path)
                if target.startswith("/"):
                    resolved = []
                pending.extend(reversed([p for p in target.split("/") if p]))
                continue
            if pending and not stat.S_ISDIR(st.st_mode):
                return None
            resolved.append(part)
            if not pending:
                return path
        return None

    def _lookup(self, parts: list[str]) -> tuple[Path, os.stat_result] | None:
        """The top-most entry for a (symlink-free) path, honouring whiteouts and opaques."""
        for layer in self._dirs:
            opaque = False
            blocked = False
            absent = False
            for depth in range(1, len(parts)):
                ancestor = layer.joinpath(*parts[:depth])
                try:
                    st = os.lstat(ancestor)
                except FileNotFoundError:
                    absent = True
                    break
                if not stat.S_ISDIR(st.st_mode):
                    blocked = True  # whiteout or a file hides everything below
                    break
                with contextlib.suppress(OSError):
                    if os.getxattr(ancestor, OVERLAY_OPAQUE_XATTR) == b"y":
                        opaque = True
            if blocked:
                return None
            if not absent:
                path = layer.joinpath(*parts)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    st = None
                if st is not None:
                    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                        return None  # whiteout
                    return path, st
            if opaque:
                return None
        return None
