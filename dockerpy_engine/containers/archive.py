"""`docker cp`: the archive endpoints' file work, confined to a container's root.

Everything here is synchronous and runs in worker threads; `files.py` ties it to containers.

Confinement. The root is an open directory fd and every lookup walks it one component at a
time with `*at` calls: `..` pops the walk's own stack (it never asks the kernel, so a directory
moved out from under us cannot lead outside), symlinks are read with readlinkat and followed by
splicing their target into the walk (absolute targets restart at the container's root), and
every open uses O_NOFOLLOW. The kernel never follows a symlink for us, so a container swapping
a directory for a link to `/` mid-walk gains nothing: the worst it gets is its own files.

Mounts are not in the rootfs view we walk: dockerd's view binds the container's volumes,
bind mounts and network files (/etc/hosts...) over it, so `mounts` maps container paths to
the host file or directory standing in for them. A walk enters a mounted directory through an
fd on its source, with the same rules; a read-only mount refuses writes (EROFS). tmpfs mounts
are not in dockerd's view either: cp reaches the rootfs directory underneath them.

dockerd's rules matched (daemon/archive*.go, pkg/archive):
- the path is taken as absolute in the container; its directory part is resolved with every
  symlink followed in scope, the last element is not followed unless the path ends in `/` or
  `/.` (PreserveTrailingDotOrSeparator);
- the stat header is base64 JSON {name, size, mode (Go os.FileMode bits), mtime, linkTarget},
  linkTarget being the fully resolved in-container path of a symlink;
- the tar's entries are renamed so the first is the base name of the requested path (`.` for
  `dir/.`, `/` for the root), in lexical walk order, Go's header conventions (USTAR/PAX, whole
  seconds, hard links as links, no uname/gname);
- extraction (PUT) into a directory: parents created as needed, an existing entry replaced
  unless `noOverwriteDirNonDir` forbids swapping a directory and a non-directory, symlinks and
  hard links refused when they point outside the extraction directory, owners from the tar (or
  the container's user with `copyUIDGID`), directory times set last.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import posixpath
import stat
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .. import errdefs
from ..gopath import go_base, go_clean
from ..idmap import NO_MAPPING, IdentityMapping

MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS
BLOCK = 512
CHUNK = 1 << 20
STAT_HEADER = "X-Docker-Container-Path-Stat"

_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_PATH_FLAGS = _PATH_FLAGS | os.O_DIRECTORY
_DIR_READ_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_XATTR_PAX_PREFIX = "SCHILY.xattr."

# Go's os.FileMode type bits (io/fs), which the stat header carries.
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20


class ArchiveError(errdefs.System):
    """An extraction dockerd refuses after it began (500, as its untar errors)."""


def go_file_mode(st_mode: int) -> int:
    """A stat mode as Go's os.FileMode: permission bits, then the type and special bits."""
    mode = st_mode & 0o777
    if stat.S_ISDIR(st_mode):
        mode |= MODE_DIR
    elif stat.S_ISLNK(st_mode):
        mode |= MODE_SYMLINK
    elif stat.S_ISCHR(st_mode):
        mode |= MODE_DEVICE | MODE_CHAR_DEVICE
    elif stat.S_ISBLK(st_mode):
        mode |= MODE_DEVICE
    elif stat.S_ISFIFO(st_mode):
        mode |= MODE_NAMED_PIPE
    elif stat.S_ISSOCK(st_mode):
        mode |= MODE_SOCKET
    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def go_time(ns: int) -> str:
    """A time as Go's JSON (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


# -- paths -------------------------------------------------------------------------------


def absolute_request_path(path: str) -> str:
    """The API's path as an absolute container path, a trailing `/` or `/.` kept
    (dockerd's PreserveTrailingDotOrSeparator(filepath.Join("/", path), path))."""
    cleaned = go_clean("/" + path)
    if go_base(cleaned) != "." and go_base(path) == "." and not path.endswith("/"):
        if not cleaned.endswith("/"):
            cleaned += "/"
        cleaned += "."
    if not cleaned.endswith("/") and path.endswith("/"):
        cleaned += "/"
    return cleaned


@dataclass(frozen=True, slots=True)
class RequestPath:
    """A request path split the way dockerd resolves it."""

    absolute: str  # PreserveTrailingDotOrSeparator(Join("/", path))
    directory: str  # resolved with every symlink followed
    base: str  # "" or "." (the directory itself) or the last element, not followed
    name: str  # the stat name and the tar's first entry: filepath.Base(absolute)

    @classmethod
    def parse(cls, path: str) -> RequestPath:
        absolute = absolute_request_path(path)
        directory, _, base = absolute.rpartition("/")
        return cls(absolute, directory + "/", base, go_base(absolute))


# -- the confined walk -------------------------------------------------------------------


@dataclass(slots=True)
class Node:
    """An entry found inside the root: its parent directory (an fd we own) and its name."""

    parent: int
    name: str  # "": the directory `parent` itself (the root, a mount's top)
    parts: tuple[str, ...]  # its path inside the root, resolved
    source: Path | None = None  # a bind-mounted host file that stands in for it

    @property
    def path(self) -> str:
        return "/" + "/".join(self.parts)

    def lstat(self) -> os.stat_result:
        if self.source is not None:
            return os.stat(self.source, follow_symlinks=False)
        if not self.name:
            return os.fstat(self.parent)
        return os.stat(self.name, dir_fd=self.parent, follow_symlinks=False)

    def close(self) -> None:
        if self.parent >= 0:
            os.close(self.parent)
            self.parent = -1

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class ViewMount:
    """A host file or directory that dockerd's cp view binds over a container path."""

    source: Path
    read_only: bool = False


class ScopedRoot:
    """A directory fd (a container's root) in which every path resolves without leaving it.

    `mounts` (container path -> host file or directory) are what dockerd's view binds over
    the rootfs. A directory mount is entered through an fd opened on its source when the root
    is opened, so a walk goes on inside it with the same rules, and `..` at its top returns to
    the container's directory, never to the host's. Destinations are resolved in the root
    first (symlinks followed in scope, GetResourcePath), shallow ones first as dockerd mounts
    them. A directory that leads to a mount but is missing from the rootfs (dockerd's view
    creates it) reads as `placeholder`, an empty directory, unless the walk creates dirs.
    """

    def __init__(
        self,
        root_fd: int,
        mounts: Mapping[str, Path | ViewMount] | None = None,
        placeholder: Path | None = None,
    ) -> None:
        self.fd = root_fd
        self.mounts: dict[str, Path] = {}  # file mounts: the host file stands in
        self._dirs: dict[str, int] = {}  # directory mounts: an fd on the source
        self._read_only: set[str] = set()
        self._ancestors: set[str] = set()  # directories on the way to a mount
        self._placeholder = -1
        try:
            if placeholder is not None and mounts:
                self._placeholder = os.open(placeholder, _DIR_PATH_FLAGS)
            for dest, mount in sorted((mounts or {}).items(), key=lambda m: _depth(m[0])):
                self._bind(dest, mount if isinstance(mount, ViewMount) else ViewMount(mount))
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(
        cls,
        path: Path | str,
        mounts: Mapping[str, Path | ViewMount] | None = None,
        placeholder: Path | None = None,
    ) -> ScopedRoot:
        fd = os.open(path, _DIR_PATH_FLAGS)
        return cls(fd, mounts, placeholder)

    def close(self) -> None:
        for fd in (self.fd, self._placeholder, *self._dirs.values()):
            if fd >= 0:
                os.close(fd)
        self.fd = self._placeholder = -1
        self._dirs.clear()

    def __enter__(self) -> ScopedRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind(self, destination: str, mount: ViewMount) -> None:
        """Put one mount where its destination resolves; one whose source is gone or whose
        destination cannot be resolved is left out."""
        try:
            is_dir = stat.S_ISDIR(os.stat(mount.source).st_mode)
            with self.resolve(destination, follow=True, lenient=True) as node:
                key = node.path
        except OSError:
            return
        if key == "/":
            return
        old = self._dirs.pop(key, -1)
        if old >= 0:
            os.close(old)
        self.mounts.pop(key, None)
        if is_dir:  # the host side may be a symlink: mount(2) follows it too
            self._dirs[key] = os.open(mount.source, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        else:
            self.mounts[key] = mount.source
        if mount.read_only:
            self._read_only.add(key)
        else:
            self._read_only.discard(key)
        parts = key.split("/")[1:]
        self._ancestors.update("/" + "/".join(parts[:i]) for i in range(1, len(parts)))

    def mount_at(self, parts: tuple[str, ...] | list[str]) -> Path | None:
        """The host file mounted at `parts`, if a file is mounted there."""
        return self.mounts.get("/" + "/".join(parts)) if self.mounts else None

    def dir_mount_at(self, parts: tuple[str, ...] | list[str]) -> int | None:
        """The fd on the host directory mounted at `parts`, if a directory is mounted there."""
        return self._dirs.get("/" + "/".join(parts)) if self._dirs else None

    def read_only_at(self, parts: tuple[str, ...] | list[str]) -> bool:
        """Whether `parts` lies in a read-only mount (the deepest mount holding it decides)."""
        for depth in range(len(parts), 0, -1):
            key = "/" + "/".join(parts[:depth])
            if key in self._dirs or key in self.mounts:
                return key in self._read_only
        return False

    def _leads_to_mount(self, parts: tuple[str, ...] | list[str]) -> bool:
        return self._placeholder >= 0 and "/" + "/".join(parts) in self._ancestors

    def mounts_in(self, parts: tuple[str, ...]) -> set[str]:
        """Names of the mount points (and of the directories leading to one) directly inside
        the directory `parts`: dockerd's view creates them, so listings show them."""
        prefix = "/" + "/".join(parts)
        found = set()
        for dest in (*self.mounts, *self._dirs, *self._ancestors):
            parent, _, name = dest.rpartition("/")
            if (parent or "/") == prefix:
                found.add(name)
        return found

    def entry(self, dir_fd: int, name: str, parts: tuple[str, ...]) -> tuple[int, str, Path | None]:
        """Where the child `name` of the directory `dir_fd` (at `parts`) is in the view: the
        top of a directory mount (`name` ""), a mounted host file (its `source`), the
        placeholder of a missing directory leading to a mount, or right there. The fd is
        borrowed."""
        key = "/" + "/".join(parts)
        if key in self._dirs:
            return self._dirs[key], "", None
        if key in self.mounts:
            return dir_fd, name, self.mounts[key]
        if self._leads_to_mount(parts) and not _lexists(name, dir_fd):
            return self._placeholder, "", None
        return dir_fd, name, None

    @staticmethod
    def _file_node(source: Path, parts: tuple[str, ...]) -> Node:
        return Node(os.open(source.parent, _DIR_PATH_FLAGS), source.name, parts, source)

    def resolve(
        self,
        path: str,
        follow: bool,
        *,
        mkdir_owner: tuple[int, int] | None = None,
        lenient: bool = False,
    ) -> Node:
        """Find `path` (relative to the root, `/` or not) without leaving the root.

        Symlinks in the middle are always followed in scope; the last element only when
        `follow`. With `mkdir_owner`, missing directories on the way are made (0755, as
        MkdirAllAndChownNew, owned by that host uid:gid). With `lenient`, a missing element
        ends the walk and the rest of the path is appended as written (FollowSymlinkInScope on
        a broken link): the result's `parts` are meaningful, its `parent` is the deepest
        directory found.
        Raises FileNotFoundError, NotADirectoryError, or OSError(ELOOP).
        """
        pending = [p for p in path.split("/") if p not in ("", ".")]
        pending.reverse()
        stack: list[int] = [self.fd]
        names: list[str] = []
        entered: list[bool] = []  # per name: its fd is a mount's top or the placeholder
        links = 0
        try:
            while pending:
                part = pending.pop()
                if part == ".":
                    continue
                if part == "..":
                    if names:
                        os.close(stack.pop())
                        names.pop()
                        entered.pop()
                    continue
                last = not pending
                here = (*names, part)
                source = self.mount_at(here)
                if source is not None:
                    if last:
                        return self._file_node(source, here)
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", part)
                mounted = self.dir_mount_at(here)
                st = None
                if mounted is None:
                    with contextlib.suppress(FileNotFoundError):
                        st = os.stat(part, dir_fd=stack[-1], follow_symlinks=False)
                if mounted is None and st is None:  # missing
                    if mkdir_owner is None and self._leads_to_mount(here):
                        mounted = self._placeholder
                    elif lenient:
                        return self._lexical_rest(stack, names, [part, *reversed(pending)])
                    elif mkdir_owner is None:
                        if last:
                            return Node(_dup(stack[-1]), part, here)
                        raise FileNotFoundError(errno.ENOENT, "no such file or directory", part)
                    else:
                        st = self._mkdir(stack[-1], part, here, mkdir_owner)
                if mounted is not None:
                    if last:
                        return Node(_dup(mounted), "", here)
                    stack.append(_dup(mounted))
                    names.append(part)
                    entered.append(True)
                    continue
                assert st is not None
                if stat.S_ISLNK(st.st_mode) and (follow or not last):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                    target = os.readlink(part, dir_fd=stack[-1])
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                        names.clear()
                        entered.clear()
                    pending.extend(reversed([p for p in target.split("/") if p]))
                    continue
                if last:
                    return Node(_dup(stack[-1]), part, here)
                if not stat.S_ISDIR(st.st_mode):
                    if lenient:
                        return self._lexical_rest(stack, names, [part, *reversed(pending)])
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", part)
                stack.append(os.open(part, _DIR_PATH_FLAGS, dir_fd=stack[-1]))
                names.append(part)
                entered.append(False)
            # the root itself, or a path that resolved back to a directory on the stack
            if not names:
                return Node(_dup(self.fd), "", ())
            top = stack.pop()
            if entered[-1]:  # a mount's top (or the placeholder): the node is the fd itself
                return Node(top, "", tuple(names))
            with contextlib.suppress(OSError):
                os.close(top)
            return Node(_dup(stack[-1]), names[-1], tuple(names))
        finally:
            for fd in stack[1:]:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _mkdir(
        self, dir_fd: int, name: str, parts: tuple[str, ...], owner: tuple[int, int]
    ) -> os.stat_result:
        """MkdirAllAndChownNew's step (0755, only a directory it made is chowned); a
        read-only mount refuses it as the kernel would."""
        if self.read_only_at(parts):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), "/" + "/".join(parts))
        try:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        except FileExistsError:
            pass
        else:
            if owner != (0, 0):
                os.chown(name, *owner, dir_fd=dir_fd, follow_symlinks=False)
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)

    @staticmethod
    def _lexical_rest(stack: list[int], names: list[str], rest: list[str]) -> Node:
        parts = list(names)
        for part in rest:
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return Node(_dup(stack[-1]), parts[-1] if parts else "", tuple(parts))

    def resolve_request(self, request: RequestPath) -> Node:
        """dockerd's ResolvePath: the directory part followed, the base name not."""
        if request.base in ("", "."):
            node = self.resolve(request.directory, follow=True)
            try:  # `path/` and `path/.` name a directory, as for lstat(2)
                if node.source is not None or not stat.S_ISDIR(node.lstat().st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", request.absolute)
            except BaseException:
                node.close()
                raise
            return node
        with self.resolve(request.directory, follow=True) as directory:
            if directory.source is not None:
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", request.directory)
            if directory.name:
                st = directory.lstat()
                if not stat.S_ISDIR(st.st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", request.directory)
                fd = os.open(directory.name, _DIR_PATH_FLAGS, dir_fd=directory.parent)
            else:
                fd = _dup(directory.parent)
            parts = (*directory.parts, request.base)
            at, name, source = self.entry(fd, request.base, parts)
            if source is None and name:
                return Node(fd, name, parts)
            os.close(fd)
            if source is not None:
                return self._file_node(source, parts)
            return Node(_dup(at), "", parts)

    def read_file(self, path: str, limit: int = 16 << 20) -> bytes | None:
        """A regular file's bytes (symlinks followed in scope), None when absent."""
        try:
            with self.resolve(path, follow=True) as node:
                if node.source is not None:
                    return node.source.read_bytes()[:limit]
                fd = os.open(node.name or ".", _FILE_READ_FLAGS, dir_fd=node.parent)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as src:
            if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
                return None
            return src.read(limit)


def _dup(fd: int) -> int:
    return os.dup(fd)


def _depth(destination: str) -> int:
    """A mount destination's number of elements: dockerd mounts shallow ones first."""
    return len([p for p in destination.split("/") if p])


def _lexists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


# -- stat --------------------------------------------------------------------------------


def path_stat(scope: ScopedRoot, request: RequestPath) -> dict[str, Any]:
    """ContainerPathStat of the requested path (its last element not followed)."""
    with scope.resolve_request(request) as node:
        st = node.lstat()
    link_target = ""
    if stat.S_ISLNK(st.st_mode):
        with scope.resolve(request.absolute, follow=True, lenient=True) as target:
            link_target = target.path
    return {
        "name": request.name,
        "size": st.st_size,
        "mode": go_file_mode(st.st_mode),
        "mtime": go_time(st.st_mtime_ns),
        "linkTarget": link_target,
    }


def stat_header(stat_dict: Mapping[str, Any]) -> str:
    """The X-Docker-Container-Path-Stat value: base64 (standard, padded) of the JSON."""
    return base64.b64encode(orjson.dumps(dict(stat_dict))).decode()


# -- writing tars ------------------------------------------------------------------------


class TarWriter:
    """Writes a tar stream as Go's archive/tar does: headers, data, two zero blocks, no
    padding to a record (so an empty archive is 1024 zero bytes, dockerd's empty layer)."""

    def __init__(self, write: Callable[[bytes], Any], ids: IdentityMapping = NO_MAPPING) -> None:
        self._write = write
        self._ids = ids  # a remapped daemon's diffs and exports carry the container's ids
        self._links: dict[tuple[int, int], str] = {}
        self.closed = False

    def add(
        self, info: tarfile.TarInfo, data: IO[bytes] | None = None, dedupe: tuple[int, int] = (0, 0)
    ) -> None:
        if info.type == tarfile.REGTYPE and dedupe != (0, 0):
            first = self._links.get(dedupe)
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
                info.size = 0
                data = None
            else:
                self._links[dedupe] = info.name
        if not self._ids.empty:
            info.uid, info.gid = self._ids.to_container(info.uid, info.gid)
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE) and info.size:
            remaining = info.size
            while remaining and data is not None:
                chunk = data.read(min(CHUNK, remaining))
                if not chunk:
                    break
                self._write(chunk)
                remaining -= len(chunk)
            if remaining:  # the file shrank while we read it: keep the header's promise
                self._write(b"\0" * remaining)
            tail = info.size % BLOCK
            if tail:
                self._write(b"\0" * (BLOCK - tail))

    def close(self) -> None:
        if not self.closed:
            self._write(b"\0" * (2 * BLOCK))
            self.closed = True


def tar_info(name: str, st: os.stat_result, linkname: str = "") -> tarfile.TarInfo | None:
    """A tar header for a stat result, as moby's FileInfoHeader; None for sockets."""
    info = tarfile.TarInfo(name)
    info.mode = st.st_mode & 0o7777
    info.uid = st.st_uid
    info.gid = st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)  # truncated to whole seconds, as moby does
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
        if not info.name.endswith("/"):
            info.name += "/"
    elif stat.S_ISLNK(mode):
        info.type = tarfile.SYMTYPE
        info.linkname = linkname
    elif stat.S_ISREG(mode):
        info.type = tarfile.REGTYPE
        info.size = st.st_size
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor = os.major(st.st_rdev)
        info.devminor = os.minor(st.st_rdev)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    else:
        return None
    return info


def _capability_xattr(fd_path: str, info: tarfile.TarInfo) -> None:
    """moby keeps security.capability (file capabilities) in the tar, as a PAX record."""
    try:
        value = os.getxattr(fd_path, "security.capability")
    except OSError:
        return
    info.pax_headers[_XATTR_PAX_PREFIX + "security.capability"] = value.decode(
        "utf-8", "surrogateescape"
    )


def _entry_name(rebase: str, rel: str) -> str:
    if not rebase:
        return rel
    if not rel:
        return "/" if rebase == "/" else rebase
    if rebase == "/":
        return "/" + rel
    return f"{rebase}/{rel}"


def write_tree(
    scope: ScopedRoot,
    node: Node,
    rebase: str,
    tar: TarWriter,
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Tar `node` (and what is under it, when it is a directory) with names under `rebase`
    ("" = names relative to the node, which itself is left out: `docker export`).

    Directories are opened relative to their parent with O_NOFOLLOW, so the walk cannot be
    sent elsewhere by a rename or a symlink swap; the order is Go's WalkDir (lexical)."""
    if rebase:
        _write_entry(scope, node.parent, node.name, node.parts, node.source, rebase, "", tar)
    if node.source is not None:
        return
    try:
        if not stat.S_ISDIR(node.lstat().st_mode):
            return
        fd = os.open(node.name or ".", _DIR_READ_FLAGS, dir_fd=node.parent)
    except OSError:
        return  # removed or swapped since it was resolved: moby logs and ends the tar
    stack: list[tuple[int, tuple[str, ...], str, Iterator[str]]] = [
        (fd, node.parts, "", iter(_listing(scope, fd, node.parts)))
    ]
    try:
        while stack:
            if cancelled():
                return
            dir_fd, parts, rel, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(dir_fd)
                stack.pop()
                continue
            child_parts = (*parts, name)
            child_rel = f"{rel}/{name}" if rel else name
            at, at_name, source = scope.entry(dir_fd, name, child_parts)
            st = _write_entry(scope, at, at_name, child_parts, source, rebase, child_rel, tar)
            if source is None and st is not None and stat.S_ISDIR(st.st_mode):
                try:
                    child_fd = os.open(at_name or ".", _DIR_READ_FLAGS, dir_fd=at)
                except OSError:
                    continue  # replaced meanwhile: moby logs and goes on
                stack.append(
                    (child_fd, child_parts, child_rel, iter(_listing(scope, child_fd, child_parts)))
                )
    finally:
        for dir_fd, *_ in stack:
            with contextlib.suppress(OSError):
                os.close(dir_fd)


def _listing(scope: ScopedRoot, dir_fd: int, parts: tuple[str, ...]) -> list[str]:
    names = set(os.listdir(dir_fd))
    names.update(scope.mounts_in(parts))  # dockerd's view creates their mount points
    return sorted(names, key=os.fsencode)


def _write_entry(
    scope: ScopedRoot,
    dir_fd: int,
    name: str,
    parts: tuple[str, ...],
    source: Path | None,
    rebase: str,
    rel: str,
    tar: TarWriter,
) -> os.stat_result | None:
    try:
        if source is not None:
            st = os.stat(source, follow_symlinks=False)
            opener: Callable[[], int] = lambda: os.open(source, _FILE_READ_FLAGS)  # noqa: E731
        elif name:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            opener = lambda: os.open(name, _FILE_READ_FLAGS, dir_fd=dir_fd)  # noqa: E731
        else:
            st = os.fstat(dir_fd)
            opener = lambda: os.open(".", _FILE_READ_FLAGS, dir_fd=dir_fd)  # noqa: E731
    except OSError:
        return None  # vanished while we walked: moby logs and goes on
    linkname = ""
    if stat.S_ISLNK(st.st_mode):
        try:
            linkname = os.readlink(name, dir_fd=dir_fd)
        except OSError:
            return None
    info = tar_info(_entry_name(rebase, rel), st, linkname)
    if info is None:
        return st
    if stat.S_ISREG(st.st_mode):
        try:
            fd = opener()
        except OSError:
            return None
        with os.fdopen(fd, "rb", buffering=0) as data:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None  # swapped for something else between stat and open
            _capability_xattr(f"/proc/self/fd/{fd}", info)
            dedupe = (st.st_dev, st.st_ino) if st.st_nlink > 1 else (0, 0)
            tar.add(info, data, dedupe)
    else:
        tar.add(info)
    return st


# -- extraction --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """PUT /containers/{id}/archive options: dockerd's TarOptions for a copy."""

    no_overwrite_dir_non_dir: bool = False
    chown: tuple[int, int] | None = None  # copyUIDGID: everything to this (host) uid:gid
    ids: IdentityMapping = NO_MAPPING  # --userns-remap: the tar's owners moved into the range


@dataclass(slots=True)
class _Extraction:
    scope: ScopedRoot
    dest: tuple[str, ...]
    options: ExtractOptions
    dirs: list[tuple[tuple[str, ...], int]] = field(default_factory=list)

    @property
    def dest_path(self) -> str:
        return "/" + "/".join(self.dest)

    def run(self, source: IO[bytes]) -> None:
        try:
            with tarfile.open(fileobj=source, mode="r|", bufsize=64 << 10) as tar:  # type: ignore[call-overload]
                while (member := tar.next()) is not None:
                    self._entry(tar, member)
                    tar.members.clear()
        except tarfile.TarError as exc:
            raise errdefs.InvalidParameter(f"invalid tar archive: {exc}") from None
        for parts, mtime_ns in reversed(self.dirs):
            with contextlib.suppress(OSError), self.scope.resolve("/".join(parts), True) as node:
                if node.source is None and node.name:
                    os.utime(
                        node.name,
                        ns=(mtime_ns, mtime_ns),
                        dir_fd=node.parent,
                        follow_symlinks=False,
                    )

    def _entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = go_clean(member.name)
        if name == ".." or name.startswith("../"):
            raise ArchiveError(f'"{name}" is outside of "{self.dest_path}"')
        rel = name.lstrip("/")
        rel = "" if rel == "." else rel
        parts = (*self.dest, *[p for p in rel.split("/") if p])
        path = "/" + "/".join(parts)
        parent_rel, _, base = "/".join(parts).rpartition("/")
        if not rel:
            return  # the extraction directory itself: it exists and is a directory
        # Untar makes missing parents owned by the containers' root (remapped or not)
        owner = self.options.ids.root_pair()
        with self.scope.resolve(parent_rel, follow=True, mkdir_owner=owner) as parent:
            if parent.source is not None:
                raise ArchiveError(f"mkdir {parent.path}: not a directory")
            if parent.name:
                st = parent.lstat()
                if not stat.S_ISDIR(st.st_mode):
                    raise ArchiveError(f"mkdir {parent.path}: not a directory")
                dir_fd = os.open(parent.name, _DIR_PATH_FLAGS, dir_fd=parent.parent)
            else:
                dir_fd = os.dup(parent.parent)
            real_parts = (*parent.parts, base)
        try:
            if self.scope.read_only_at(real_parts):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
            mounted = self.scope.dir_mount_at(real_parts)
            if mounted is not None and member.isdir():
                self._metadata(member, mounted, "")  # Untar re-owns the directory it finds
                return
            if mounted is not None or self.scope.mount_at(real_parts) is not None:
                raise ArchiveError(f"unlinkat {path}: device or resource busy")
            self._replace(dir_fd, base, member, path)
            self._create(tar, member, dir_fd, base, path)
            self._metadata(member, dir_fd, base)
            if member.isdir():
                self.dirs.append((real_parts, int(member.mtime * 1_000_000_000)))
        finally:
            os.close(dir_fd)

    def _replace(self, dir_fd: int, base: str, member: tarfile.TarInfo, path: str) -> None:
        try:
            existing = os.stat(base, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        is_dir = stat.S_ISDIR(existing.st_mode)
        if self.options.no_overwrite_dir_non_dir and is_dir and not member.isdir():
            raise ArchiveError(
                f'cannot overwrite directory "{path}" with non-directory "{self.dest_path}"'
            )
        if self.options.no_overwrite_dir_non_dir and not is_dir and member.isdir():
            raise ArchiveError(
                f'cannot overwrite non-directory "{path}" with directory "{self.dest_path}"'
            )
        if not (is_dir and member.isdir()):
            remove_all(dir_fd, base)

    def _inside_dest(self, target: str) -> bool:
        return target.startswith(self.dest_path)

    def _create(
        self, tar: tarfile.TarFile, member: tarfile.TarInfo, dir_fd: int, base: str, path: str
    ) -> None:
        mode = member.mode & 0o7777
        if member.isdir():
            with contextlib.suppress(FileExistsError):
                os.mkdir(base, mode & 0o777, dir_fd=dir_fd)
        elif member.isreg():
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(base, flags, mode & 0o777, dir_fd=dir_fd)
            with os.fdopen(fd, "wb", buffering=0) as out:
                data = tar.extractfile(member)
                if data is not None:
                    while chunk := data.read(CHUNK):
                        out.write(chunk)
        elif member.issym():
            target = go_clean(posixpath.dirname(path) + "/" + member.linkname)
            if not self._inside_dest(target):
                raise ArchiveError(f'invalid symlink "{path}" -> "{member.linkname}"')
            os.symlink(member.linkname, base, dir_fd=dir_fd)
        elif member.islnk():
            target = go_clean(self.dest_path + "/" + member.linkname)
            if not self._inside_dest(target):
                raise ArchiveError(f'invalid hardlink "{path}" -> "{member.linkname}"')
            try:
                with self.scope.resolve(target, follow=False) as source:
                    if source.source is not None or not source.name:
                        raise ArchiveError(f'invalid hardlink "{path}" -> "{member.linkname}"')
                    os.link(
                        source.name,
                        base,
                        src_dir_fd=source.parent,
                        dst_dir_fd=dir_fd,
                        follow_symlinks=False,
                    )
            except FileNotFoundError:
                raise ArchiveError(f"link {target} {path}: no such file or directory") from None
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            dev = os.makedev(member.devmajor, member.devminor)
            os.mknod(base, kind | (mode & 0o777), dev, dir_fd=dir_fd)
        elif member.isfifo():
            os.mkfifo(base, mode & 0o777, dir_fd=dir_fd)
        else:
            raise ArchiveError(f"unhandled tar header type {member.type!r}")

    def _metadata(self, member: tarfile.TarInfo, dir_fd: int, base: str) -> None:
        """Owner, xattrs, mode (after chown, which clears setuid), then times (not dirs').
        An empty `base` means the directory `dir_fd` itself (a mount's top)."""
        if member.islnk():
            return
        uid, gid = self.options.chown or self.options.ids.to_host(member.uid, member.gid)
        if member.issym():
            os.chown(base, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
            mtime = int(member.mtime * 1_000_000_000)
            os.utime(base, ns=(mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
            return
        fd = os.open(base, _PATH_FLAGS, dir_fd=dir_fd) if base else os.dup(dir_fd)
        try:
            proc_path = f"/proc/self/fd/{fd}"  # fd is O_NOFOLLOW: never a symlink here
            os.chown(proc_path, uid, gid)
            for key, value in member.pax_headers.items():
                if not key.startswith(_XATTR_PAX_PREFIX):
                    continue
                xattr = key[len(_XATTR_PAX_PREFIX) :]
                if xattr.startswith("trusted.overlay."):
                    continue
                try:
                    os.setxattr(proc_path, xattr, value.encode("utf-8", "surrogateescape"))
                except OSError as exc:
                    if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.EOPNOTSUPP):
                        raise
            os.chmod(proc_path, member.mode & 0o7777)
        finally:
            os.close(fd)
        if not member.isdir():
            mtime = int(member.mtime * 1_000_000_000)
            os.utime(base, ns=(mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)


def remove_all(dir_fd: int, name: str) -> None:
    """os.RemoveAll of `name` inside `dir_fd`, never following a symlink."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    fd = os.open(name, _DIR_READ_FLAGS, dir_fd=dir_fd)
    try:
        for child in os.listdir(fd):
            remove_all(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def extract(
    scope: ScopedRoot, dest: tuple[str, ...] | str, source: IO[bytes], options: ExtractOptions
) -> None:
    """Untar `source` (already decompressed) into the directory `dest` of the root, given as
    its path components or as a container path (the builder's COPY destination)."""
    if isinstance(dest, str):
        dest = tuple(part for part in go_clean("/" + dest).split("/") if part)
    _Extraction(scope, dest, options).run(source)


def decompressed(source: IO[bytes]) -> IO[bytes]:
    """Untar's DecompressStream: gzip, bzip2, xz (and zstd) bodies are accepted too."""
    from ..images.layers import decompressed as sniff

    return sniff(source)
