"""Walking a container's writable tree without ever following a symlink out of it.

An overlay upper dir (fsdiff.py) and a vfs container's full tree (treediff.py) are both read
through `walk_upper`: entries in lexical pre-order (Go's filepath.Walk), each directory opened
relative to its parent with O_NOFOLLOW, so a container that swaps a directory for a symlink
meanwhile cannot make the daemon read the host's files.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

OPAQUE_XATTR = "trusted.overlay.opaque"
DIR_READ_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SECOND_NS = 1_000_000_000


def same_fs_time(a: int, b: int) -> bool:
    """pkg/archive's sameFsTime: equal, or the same second with one side's nanoseconds zero
    (a time that went through a tar header lost them)."""
    if a == b:
        return True
    return a // _SECOND_NS == b // _SECOND_NS and (a % _SECOND_NS == 0 or b % _SECOND_NS == 0)


@dataclass(slots=True)
class UpperEntry:
    """One entry of the upper dir, as the walk found it."""

    path: str  # "/etc/passwd"
    parent_fd: int  # valid during the walk only
    name: str
    st: os.stat_result
    opaque: bool = False

    @property
    def whiteout(self) -> bool:
        return stat.S_ISCHR(self.st.st_mode) and self.st.st_rdev == 0

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)


def walk_upper(
    root: Path, descend: Callable[[UpperEntry], bool] = lambda _e: True
) -> Iterator[UpperEntry]:
    """Every entry under `root` in lexical pre-order (Go's filepath.Walk), never following a
    symlink: directories are opened relative to their parent with O_NOFOLLOW."""
    root_fd = os.open(root, DIR_READ_FLAGS)
    stack: list[tuple[int, str, Iterator[str]]] = [(root_fd, "", iter(_sorted(root_fd)))]
    try:
        while stack:
            dir_fd, prefix, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(dir_fd)
                stack.pop()
                continue
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            entry = UpperEntry(f"{prefix}/{name}", dir_fd, name, st)
            child_fd = -1
            if entry.is_dir:
                try:
                    child_fd = os.open(name, DIR_READ_FLAGS, dir_fd=dir_fd)
                except OSError:
                    continue
                with contextlib.suppress(OSError):
                    entry.opaque = os.getxattr(child_fd, OPAQUE_XATTR) == b"y"
            try:
                yield entry
            except GeneratorExit:
                if child_fd >= 0:
                    os.close(child_fd)
                raise
            if child_fd >= 0:
                if descend(entry):
                    stack.append((child_fd, entry.path, iter(_sorted(child_fd))))
                else:
                    os.close(child_fd)
    finally:
        for dir_fd, _, _ in stack:
            with contextlib.suppress(OSError):
                os.close(dir_fd)


def _sorted(dir_fd: int) -> list[str]:
    return sorted(os.listdir(dir_fd), key=os.fsencode)
