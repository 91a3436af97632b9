"""What a container changed: `docker diff`, the layer tar of `docker commit`, `docker export`.

The container's writes are its overlay upper dir: new and modified entries as themselves,
deletions as whiteouts (character devices 0/0) and directories recreated after a delete as
opaque directories (`trusted.overlay.opaque=y`). Synchronous; callers run it in threads.

docker diff (dockerd's overlay2 `Changes`, pkg/archive changes()): the upper dir is walked in
lexical order; a whiteout, and an opaque directory, is Kind 2 (deleted); an entry that exists
in an image layer is Kind 0 (modified), unless it is a directory whose size, mode and mtime
equal the layer's (then it is no change at all); anything else is Kind 1 (added). An added or
deleted entry records its parent directory as modified first, once.

The mount points runc creates for the container's own mounts (/etc/hosts, /etc/hostname,
/etc/resolv.conf, /proc, /sys, /dev...) land in our upper dir, where dockerd has them in the
container's init layer (daemon/initlayer) under the upper: they are not changes, and neither is
the directory they were created in when that creation is all that happened to it (its mtime
then equals theirs, give or take the few syscalls between them).

The commit layer is the upper dir as an OCI layer (overlay2's Diff): whiteouts become empty
`.wh.<name>` files (mode 0600), an opaque directory is followed by `<dir>/.wh..wh..opq`, the
init-layer mount points are left out, and so is a directory that only holds them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tarfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..idmap import NO_MAPPING, IdentityMapping
from .archive import TarWriter, go_file_mode, tar_info
from .fswalk import DIR_READ_FLAGS, UpperEntry, same_fs_time, walk_upper
from .fswalk import OPAQUE_XATTR as OPAQUE_XATTR  # the overlay marker, for callers
from .treediff import virtual_upper

CHANGE_MODIFY, CHANGE_ADD, CHANGE_DELETE = 0, 1, 2
WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

# dockerd's init layer: path -> what it holds there ("dir", "file" or a symlink's target).
INIT_PATHS: dict[str, str] = {
    "/dev/pts": "dir",
    "/dev/shm": "dir",
    "/proc": "dir",
    "/sys": "dir",
    "/.dockerenv": "file",
    "/etc/resolv.conf": "file",
    "/etc/hosts": "file",
    "/etc/hostname": "file",
    "/dev/console": "file",
    "/etc/mtab": "/proc/mounts",
    "/dev": "dir",  # our /dev tmpfs mount point; dockerd's init layer has it as /dev/pts' parent
}
INIT_DIRS = frozenset({"/dev", "/etc"})  # parents the init layer creates for those paths
_MOUNT_BUMP_NS = 2_000_000_000  # runc's mount points go in within a few ms of each other

_FILE_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def is_mount_stub(entry: UpperEntry) -> bool:
    """A mount point runc made for the container's own mounts (dockerd's init layer)."""
    kind = INIT_PATHS.get(entry.path)
    if kind is None:
        return False
    mode = entry.st.st_mode
    if kind == "dir":
        return stat.S_ISDIR(mode)
    if kind == "file":
        return stat.S_ISREG(mode) and entry.st.st_size == 0
    return stat.S_ISLNK(mode)


def lower_lstat(lowers: Sequence[Path], path: str) -> os.stat_result | None:
    """The entry at `path` in the top-most image layer that has it (no symlink followed)."""
    parts = [p for p in path.split("/") if p]
    for layer in lowers:
        current = layer
        st: os.stat_result | None = None
        for index, part in enumerate(parts):
            current = current / part
            try:
                st = os.lstat(current)
            except (FileNotFoundError, NotADirectoryError):
                st = None
                break
            if index < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                st = None
                break
        if st is not None:
            return st
    return None


class _Diff:
    """The per-entry verdicts shared by `changes` and `layer_tar`."""

    def __init__(self, lowers: Sequence[Path], tree: bool = False) -> None:
        self.lowers = list(lowers)
        # a vfs tree's directories are copies: their size says nothing (pkg/archive ignores it)
        self.dir_size_counts = not tree
        self.stub_mtime: dict[str, int] = {}  # dir -> newest mount point created in it

    def note_stub(self, entry: UpperEntry) -> None:
        parent = entry.path.rsplit("/", 1)[0] or "/"
        mtime = max(entry.st.st_mtime_ns, self.stub_mtime.get(parent, 0))
        self.stub_mtime[parent] = mtime

    def below(self, entry: UpperEntry) -> tuple[bool, os.stat_result | None]:
        """(exists below the upper dir, its stat in an image layer if it has one)."""
        lower = lower_lstat(self.lowers, entry.path)
        return lower is not None or entry.path in INIT_DIRS, lower

    def unchanged_dir(self, entry: UpperEntry, lower: os.stat_result | None) -> bool:
        """A directory that only exists in the upper dir because something below it changed."""
        st = entry.st
        if lower is not None and not stat.S_ISDIR(lower.st_mode):
            return False
        if lower is None:  # an init-layer parent (/etc, /dev) the image lacks
            return stat.S_IMODE(st.st_mode) == 0o755
        if go_file_mode(st.st_mode) != go_file_mode(lower.st_mode):
            return False
        stub = self.stub_mtime.get(entry.path)
        if stub is not None and st.st_mtime_ns - stub <= _MOUNT_BUMP_NS:
            return True
        same_size = st.st_size == lower.st_size or not self.dir_size_counts
        return same_size and same_fs_time(st.st_mtime_ns, lower.st_mtime_ns)


def _stubs_first(entries: Iterator[UpperEntry], diff: _Diff) -> Iterator[UpperEntry]:
    """Pass entries through, but know a directory's mount points before judging it: the walk
    is pre-order, so the stubs of the few init-layer parents are looked up ahead."""
    for entry in entries:
        if entry.is_dir and entry.path in INIT_DIRS:
            for name in ("hosts", "hostname", "resolv.conf", "mtab", "pts", "shm", "console"):
                path = f"{entry.path}/{name}"
                if path not in INIT_PATHS:
                    continue
                try:
                    fd = os.open(entry.name, DIR_READ_FLAGS, dir_fd=entry.parent_fd)
                except OSError:
                    break
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                finally:
                    os.close(fd)
                stub = UpperEntry(path, -1, name, st)
                if is_mount_stub(stub):
                    diff.note_stub(stub)
        yield entry


def _entries(
    root: Path, lowers: Sequence[Path], descend: Callable[[UpperEntry], bool], tree: bool
) -> Iterator[UpperEntry]:
    """The upper dir's entries; for a vfs container's full tree (`tree`), the entries the
    upper dir would hold (treediff.py)."""
    return virtual_upper(root, lowers, descend) if tree else walk_upper(root, descend)


def changes(
    upper: Path, lowers: Sequence[Path], *, tree: bool = False
) -> list[dict[str, Any]] | None:
    """GET /containers/{id}/changes: [{"Path", "Kind"}] in dockerd's order; None (JSON null,
    as dockerd's nil slice) when nothing changed. With `tree`, `upper` is a vfs rootfs."""
    diff = _Diff(lowers, tree)
    result: list[dict[str, Any]] = []
    changed_dirs: set[str] = set()

    def descend(entry: UpperEntry) -> bool:
        return not is_mount_stub(entry)

    for entry in _stubs_first(_entries(upper, lowers, descend, tree), diff):
        if is_mount_stub(entry):
            continue
        if entry.whiteout or (entry.is_dir and entry.opaque):
            kind = CHANGE_DELETE
        else:
            kind = CHANGE_ADD
            exists, lower = diff.below(entry)
            if exists:
                if entry.is_dir and diff.unchanged_dir(entry, lower):
                    continue
                kind = CHANGE_MODIFY
        if entry.is_dir:
            changed_dirs.add(entry.path)
        if kind in (CHANGE_ADD, CHANGE_DELETE):
            parent = entry.path.rsplit("/", 1)[0] or "/"
            if parent != "/" and parent not in changed_dirs:
                result.append({"Path": parent, "Kind": CHANGE_MODIFY})
                changed_dirs.add(parent)
        result.append({"Path": entry.path, "Kind": kind})
    return result or None


def layer_tar(
    upper: Path,
    lowers: Sequence[Path],
    write: Callable[[bytes], Any],
    *,
    tree: bool = False,
    ids: IdentityMapping = NO_MAPPING,
) -> None:
    """The upper dir as an OCI layer tar (what `docker commit` stores), written to `write`;
    with `tree`, the changes of a vfs rootfs over its layers; with a remap's `ids`, owners
    as the container sees them."""
    diff = _Diff(lowers, tree)
    tar = TarWriter(write, ids)
    pending: list[tuple[str, tarfile.TarInfo, list[tarfile.TarInfo]]] = []  # held dir headers

    def flush() -> None:
        for _, info, extra in pending:
            tar.add(info)
            for more in extra:
                tar.add(more)
        pending.clear()

    def descend(entry: UpperEntry) -> bool:
        return not is_mount_stub(entry)

    for entry in _stubs_first(_entries(upper, lowers, descend, tree), diff):
        while pending and not entry.path.startswith(pending[-1][0] + "/"):
            pending.pop()  # a held directory whose subtree gave nothing: leave it out
        if is_mount_stub(entry):
            continue
        name = entry.path.lstrip("/")
        if entry.whiteout:
            directory, _, base = name.rpartition("/")
            info = tar_info(f"{directory}/{WHITEOUT_PREFIX}{base}".lstrip("/"), entry.st)
            if info is None:
                continue
            info.type = tarfile.REGTYPE
            info.mode = 0o600
            info.size = 0
            info.devmajor = info.devminor = 0
            flush()
            tar.add(info)
            continue
        linkname = ""
        if stat.S_ISLNK(entry.st.st_mode):
            try:
                linkname = os.readlink(entry.name, dir_fd=entry.parent_fd)
            except OSError:
                continue
        info = tar_info(name, entry.st, linkname)
        if info is None:
            continue
        if entry.is_dir:
            extra = []
            if entry.opaque:
                marker = tarfile.TarInfo(f"{name}/{WHITEOUT_OPAQUE}")
                marker.mode = entry.st.st_mode & 0o777
                marker.uid, marker.gid = entry.st.st_uid, entry.st.st_gid
                marker.uname = marker.gname = ""
                marker.mtime = 0
                extra.append(marker)
            exists, lower = diff.below(entry)
            if (
                (entry.path in INIT_DIRS or entry.path in diff.stub_mtime)
                and not entry.opaque
                and exists
                and diff.unchanged_dir(entry, lower)
            ):
                pending.append((entry.path, info, extra))  # kept only if something under it is
                continue
            flush()
            tar.add(info)
            for more in extra:
                tar.add(more)
            continue
        flush()
        if stat.S_ISREG(entry.st.st_mode):
            try:
                fd = os.open(entry.name, _FILE_READ_FLAGS, dir_fd=entry.parent_fd)
            except OSError:
                continue
            with os.fdopen(fd, "rb", buffering=0) as data:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                with contextlib.suppress(OSError):
                    capability = os.getxattr(fd, "security.capability")
                    info.pax_headers["SCHILY.xattr.security.capability"] = capability.decode(
                        "utf-8", "surrogateescape"
                    )
                dedupe = (entry.st.st_dev, entry.st.st_ino) if entry.st.st_nlink > 1 else (0, 0)
                tar.add(info, data, dedupe)
        else:
            tar.add(info)
    tar.close()


class HashingWriter:
    """A file sink that also computes the sha256 (the DiffID) and the size of what it wrote."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0

    def __call__(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)
        self.size += len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()
