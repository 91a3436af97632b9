"""Copy-up: the image's content at a volume's destination copied into the empty volume the
first time it is mounted (dockerd's CopyImagePathContent), read straight from the layer
directories, top-most first, with overlay's whiteouts (0/0 character devices) and opaque
directories (`trusted.overlay.opaque=y`) honoured. Ownership, modes, times, extended
attributes, symlinks, hard links, devices and FIFOs come along. Blocking: run in a thread.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_LINKS = 40


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class MergedView:
    """The union of overlay layer directories (top-most first), read without mounting it."""

    def __init__(self, layers: Sequence[Path]) -> None:
        self.layers = [str(p) for p in layers]

    def lookup(self, rel: str) -> str | None:
        """The host path of `rel` (no symlinks followed), or None when absent or whited out."""
        parts = [p for p in rel.split("/") if p]
        for layer in self.layers:
            current = layer
            hidden = False
            for index, part in enumerate(parts):
                current = os.path.join(current, part)
                try:
                    st = os.lstat(current)
                except OSError:
                    break  # not in this layer: look below, unless a parent was opaque
                if _is_whiteout(st):
                    return None
                if index < len(parts) - 1:
                    if not stat.S_ISDIR(st.st_mode):
                        return None  # a file here hides the directory of the layers below
                    if _opaque(current):
                        hidden = True
            else:
                return current
            if hidden:
                return None
        return None

    def listdir(self, rel: str) -> dict[str, str]:
        """name → host path of the merged directory's entries."""
        entries: dict[str, str] = {}
        gone: set[str] = set()
        parts = [p for p in rel.split("/") if p]
        for layer in self.layers:
            directory = os.path.join(layer, *parts)
            try:
                names = os.listdir(directory)
            except OSError:
                if self._blocked(layer, parts):
                    break
                continue
            for name in names:
                if name in entries or name in gone:
                    continue
                path = os.path.join(directory, name)
                st = os.lstat(path)
                if _is_whiteout(st):
                    gone.add(name)
                else:
                    entries[name] = path
            if _opaque(directory):
                break
        return entries

    @staticmethod
    def _blocked(layer: str, parts: list[str]) -> bool:
        """A whiteout or non-directory in this layer over the directory hides the layers below."""
        current = layer
        for part in parts:
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except OSError:
                return False
            if _is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                return True
        return False

    def resolve(self, path: str) -> str | None:
        """`path` with symlinks resolved inside the view (never above its root)."""
        parts = [p for p in path.split("/") if p]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/".join([*resolved, part])
            host = self.lookup(candidate)
            if host is None:
                return None
            if os.path.islink(host):
                hops += 1
                if hops > _MAX_LINKS:
                    return None
                target = os.readlink(host)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return "/".join(resolved)


def is_empty(directory: Path) -> bool:
    try:
        with os.scandir(directory) as it:
            return next(it, None) is None
    except FileNotFoundError:
        return True


def copy_up(layers: Sequence[Path], destination: str, target: Path) -> bool:
    """Copy the image's `destination` into `target` if `target` is empty; True if it did.

    A destination absent from the image, or not a directory, leaves the volume alone."""
    if not is_empty(target):
        return False
    view = MergedView(layers)
    rel = view.resolve(posixpath.normpath(destination))
    if rel is None:
        return False
    source = view.lookup(rel)
    if source is None or not os.path.isdir(source) or os.path.islink(source):
        return False
    links: dict[tuple[int, int], str] = {}
    _copy_dir(view, rel, str(target), links)
    _copy_meta(source, str(target))
    return True


def _copy_dir(view: MergedView, rel: str, target: str, links: dict[tuple[int, int], str]) -> None:
    for name, source in sorted(view.listdir(rel).items()):
        dest = os.path.join(target, name)
        st = os.lstat(source)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(dest, 0o700)
            _copy_dir(view, f"{rel}/{name}" if rel else name, dest, links)
            _copy_meta(source, dest, st)
            continue
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            os.link(links[key], dest)
            continue
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(source), dest)
        elif stat.S_ISREG(mode):
            shutil.copyfile(source, dest, follow_symlinks=False)
        elif stat.S_ISFIFO(mode):
            os.mkfifo(dest)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            os.mknod(dest, mode, st.st_rdev)
        else:
            continue  # sockets are not copied
        _copy_meta(source, dest, st)
        if st.st_nlink > 1:
            links[key] = dest


def _copy_meta(source: str, dest: str, st: os.stat_result | None = None) -> None:
    """Owner, extended attributes, mode (after chown, which clears set-id bits), times."""
    st = st or os.lstat(source)
    link = stat.S_ISLNK(st.st_mode)
    os.chown(dest, st.st_uid, st.st_gid, follow_symlinks=False)
    try:
        names = os.listxattr(source, follow_symlinks=False)
    except OSError:
        names = []
    for name in names:
        if name.startswith("trusted.overlay."):
            continue
        try:
            value = os.getxattr(source, name, follow_symlinks=False)
            os.setxattr(dest, name, value, follow_symlinks=False)
        except OSError:
            pass  # an attribute the volume's filesystem cannot hold
    if not link:
        os.chmod(dest, stat.S_IMODE(st.st_mode))
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
