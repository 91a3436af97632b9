"""What a vfs container changed: its full tree compared with its image's merged layers.

A vfs container has no upper dir: its rootfs is a copy of the image (containers/vfs.py). So
that `docker diff` and the commit layer come out of the very code overlay2 uses (fsdiff.py),
this module presents the comparison as the upper dir an overlay would have held:

- an entry that is new, or differs from the image's (type, mode, owner, device, symlink
  target, file capability; size or mtime for a non-directory, mtime for a directory, as
  pkg/archive's changes compare them), is in it, a new directory with all it holds;
- an image entry missing from the tree is a whiteout (a 0/0 character device);
- a directory is in it when anything under it is (overlay copies parents up).

It takes two walks: the first compares the trees and keeps only paths, the second walks the
container's tree again with fswalk's O_NOFOLLOW discipline and yields those entries, whiteouts
merged in lexical order. A directory whose type changed is never marked opaque: what was under
the image's is gone by its replacement alone. Blocking; callers run it in threads.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..volumes._copyup import MergedView
from .fswalk import DIR_READ_FLAGS, UpperEntry, same_fs_time, walk_upper

_CAPABILITY = "security.capability"


@dataclass(slots=True)
class TreeChanges:
    """The first walk's findings, by absolute path ("/etc/passwd")."""

    changed: set[str] = field(default_factory=set)  # new or different in the tree
    new_dirs: set[str] = field(default_factory=set)  # everything under them is new
    deleted: dict[str, int] = field(default_factory=dict)  # gone → its parent's mtime (ns)
    keep: set[str] = field(default_factory=set)  # directories holding any of the above

    def note(self, path: str) -> None:
        parent = path.rsplit("/", 1)[0]
        while parent and parent not in self.keep:
            self.keep.add(parent)
            parent = parent.rsplit("/", 1)[0]

    def under_new(self, path: str) -> bool:
        parent = path.rsplit("/", 1)[0]
        while parent:
            if parent in self.new_dirs:
                return True
            parent = parent.rsplit("/", 1)[0]
        return False


def _capability(name: str, dir_fd: int | None = None) -> bytes | None:
    """A file's security.capability (what pkg/archive compares besides the stat)."""
    try:
        if dir_fd is None:
            return os.getxattr(name, _CAPABILITY, follow_symlinks=False)
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError:
        return None
    try:
        return os.getxattr(fd, _CAPABILITY)
    except OSError:
        return None
    finally:
        os.close(fd)


def _differs(dir_fd: int, name: str, mine: os.stat_result, image: str) -> bool:
    """Whether the tree's entry `name` (in `dir_fd`) is not the image's entry at `image`."""
    theirs = os.lstat(image)
    if mine.st_mode != theirs.st_mode or (mine.st_uid, mine.st_gid) != (
        theirs.st_uid,
        theirs.st_gid,
    ):
        return True
    mode = mine.st_mode
    if stat.S_ISDIR(mode):
        return not same_fs_time(mine.st_mtime_ns, theirs.st_mtime_ns)
    if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and mine.st_rdev != theirs.st_rdev:
        return True
    if mine.st_size != theirs.st_size or not same_fs_time(mine.st_mtime_ns, theirs.st_mtime_ns):
        return True
    if stat.S_ISLNK(mode):
        return os.readlink(name, dir_fd=dir_fd) != os.readlink(image)
    if stat.S_ISREG(mode):
        return _capability(name, dir_fd) != _capability(image)
    return False


def compare(tree: Path, lowers: Sequence[Path]) -> TreeChanges:
    """The first walk: the tree against the image's merged layers (top-most first)."""
    view = MergedView(lowers)
    found = TreeChanges()
    root_fd = os.open(tree, DIR_READ_FLAGS)
    try:
        _compare_dir(root_fd, "", view, found)
    finally:
        os.close(root_fd)
    return found


def _compare_dir(dir_fd: int, rel: str, view: MergedView, found: TreeChanges) -> None:
    image = view.listdir(rel)
    mine = set(os.listdir(dir_fd))
    for name in sorted(mine | set(image), key=os.fsencode):
        path = f"{rel}/{name}"
        if name not in mine:
            found.deleted[path] = os.fstat(dir_fd).st_mtime_ns
            found.note(path)
            continue
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed meanwhile (a running container)
        source = image.get(name)
        is_dir = stat.S_ISDIR(st.st_mode)
        image_is_dir = source is not None and stat.S_ISDIR(os.lstat(source).st_mode)
        if source is None or is_dir != image_is_dir:
            found.changed.add(path)
            found.note(path)
            if is_dir:
                found.new_dirs.add(path)
            continue
        if _differs(dir_fd, name, st, source):
            found.changed.add(path)
            found.note(path)
        if is_dir:
            try:
                child = os.open(name, DIR_READ_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                _compare_dir(child, path, view, found)
            finally:
                os.close(child)


def _whiteout(path: str, mtime_ns: int) -> UpperEntry:
    """What overlayfs leaves for a deletion: a 0/0 character device, owned by root, dated
    when its directory last changed."""
    seconds = mtime_ns // 1_000_000_000
    st = os.stat_result(
        (stat.S_IFCHR, 0, 0, 1, 0, 0, 0, seconds, seconds, seconds),
        {"st_rdev": 0, "st_mtime_ns": mtime_ns, "st_atime_ns": mtime_ns},
    )
    return UpperEntry(path, -1, path.rsplit("/", 1)[1], st)


def _order(path: str) -> tuple[bytes, ...]:
    """Lexical pre-order, as walk_upper yields: a directory before what it holds."""
    return tuple(os.fsencode(part) for part in path.split("/")[1:])


def virtual_upper(
    tree: Path, lowers: Sequence[Path], descend: Callable[[UpperEntry], bool] = lambda _e: True
) -> Iterator[UpperEntry]:
    """The entries an overlay upper dir would hold for this tree over these layers, in
    walk_upper's order and form (fds valid while each entry is being looked at)."""
    found = compare(tree, lowers)
    whiteouts = sorted(found.deleted, key=_order, reverse=True)  # next one last: pop()

    def wanted(entry: UpperEntry) -> bool:
        return (
            entry.path in found.changed or entry.path in found.keep or found.under_new(entry.path)
        )

    def inside(entry: UpperEntry) -> bool:
        return (entry.path in found.keep or found.under_new(entry.path) or
                entry.path in found.new_dirs) and descend(entry)  # fmt: skip

    walk = walk_upper(tree, inside)
    try:
        for entry in walk:
            if not wanted(entry):
                continue
            key = _order(entry.path)
            while whiteouts and _order(whiteouts[-1]) < key:
                gone = whiteouts.pop()
                yield _whiteout(gone, found.deleted[gone])
            yield entry
    finally:
        with contextlib.suppress(Exception):
            walk.close()
    while whiteouts:
        gone = whiteouts.pop()
        yield _whiteout(gone, found.deleted[gone])


def changed_size(tree: Path, lowers: Sequence[Path]) -> int:
    """Bytes of the files the container added or changed, each inode once (SizeRw: dockerd's
    naive DiffSize over the change list)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for entry in virtual_upper(tree, lowers):
        st = entry.st
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total
