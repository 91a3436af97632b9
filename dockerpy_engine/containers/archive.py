"""`docker cp`: the archive endpoints' file work, confined to a container's root.

Everything here is synchronous and runs in worker threads; `files.py` ties it to containers.

Confinement. The root is an open directory fd and every lookup walks it one component at a
time with `*at` calls: `..` pops the walk's own stack (it never asks the kernel, so a directory
moved out from under us cannot lead outside), symlinks are read with readlinkat and followed by
splicing their target into the walk (absolute targets restart at the container's root), and
every open uses O_NOFOLLOW. The kernel never follows a symlink for us, so a container swapping
a directory for a link to `/` mid-walk gains nothing: the worst it gets is its own files.

Bind-mounted files (/etc/hosts, /etc/hostname, /etc/resolv.conf) are not in the rootfs view
we walk: `mounts` maps their container path to the daemon's file, which stands in for them,
as dockerd's container view shows the bind source.

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


def go_clean(path: str) -> str:
    """Go's path.Clean."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def go_base(path: str) -> str:
    """Go's filepath.Base: the last element, trailing slashes ignored; "/" for the root."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rsplit("/", 1)[-1]


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
    name: str  # "" when the node is the root itself
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


class ScopedRoot:
    """A directory fd (a container's root) in which every path resolves without leaving it."""

    def __init__(self, root_fd: int, mounts: Mapping[str, Path] | None = None) -> None:
        self.fd = root_fd
        self.mounts = {go_clean(k): Path(v) for k, v in (mounts or {}).items()}

    @classmethod
    def open(cls, path: Path | str, mounts: Mapping[str, Path] | None = None) -> ScopedRoot:
        return cls(os.open(path, _DIR_PATH_FLAGS), mounts)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> ScopedRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mount_at(self, parts: tuple[str, ...] | list[str]) -> Path | None:
        return self.mounts.get("/" + "/".join(parts)) if self.mounts else None

    def mounts_in(self, parts: tuple[str, ...]) -> dict[str, Path]:
        """Bind-mounted files directly inside the directory `parts`, by name."""
        prefix = "/" + "/".join(parts)
        found = {}
        for dest, source in self.mounts.items():
            parent, _, name = dest.rpartition("/")
            if (parent or "/") == (prefix if parts else "/"):
                found[name] = source
        return found

    def resolve(
        self, path: str, follow: bool, *, create_dirs: bool = False, lenient: bool = False
    ) -> Node:
        """Find `path` (relative to the root, `/` or not) without leaving the root.

        Symlinks in the middle are always followed in scope; the last element only when
        `follow`. With `create_dirs`, missing directories on the way are made (0755, as
        MkdirAll). With `lenient`, a missing element ends the walk and the rest of the path
        is appended as written (FollowSymlinkInScope on a broken link): the result's `parts`
        are meaningful, its `parent` is the deepest directory found.
        Raises FileNotFoundError, NotADirectoryError, or OSError(ELOOP).
        """
        pending = [p for p in path.split("/") if p not in ("", ".")]
        pending.reverse()
        stack: list[int] = [self.fd]
        names: list[str] = []
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
                    continue
                last = not pending
                source = self.mount_at([*names, part])
                if source is not None:
                    if last:
                        return Node(
                            os.open(source.parent, _DIR_PATH_FLAGS),
                            source.name,
                            (*names, part),
                            source,
                        )
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", part)
                try:
                    st = os.stat(part, dir_fd=stack[-1], follow_symlinks=False)
                except FileNotFoundError:
                    if last and not lenient and not create_dirs:
                        return Node(_dup(stack[-1]), part, (*names, part))
                    if lenient:
                        return self._lexical_rest(stack, names, [part, *reversed(pending)])
                    if not create_dirs:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=stack[-1])
                    st = os.stat(part, dir_fd=stack[-1], follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode) and (follow or not last):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                    target = os.readlink(part, dir_fd=stack[-1])
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                        names.clear()
                    pending.extend(reversed([p for p in target.split("/") if p]))
                    continue
                if last:
                    return Node(_dup(stack[-1]), part, (*names, part))
                if not stat.S_ISDIR(st.st_mode):
                    if lenient:
                        return self._lexical_rest(stack, names, [part, *reversed(pending)])
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", part)
                stack.append(os.open(part, _DIR_PATH_FLAGS, dir_fd=stack[-1]))
                names.append(part)
            # the root itself, or a path that resolved back to a directory on the stack
            if not names:
                return Node(_dup(self.fd), "", ())
            top = stack.pop()
            names_t = tuple(names)
            parent = stack[-1]
            with contextlib.suppress(OSError):
                os.close(top)
            return Node(_dup(parent), names_t[-1], names_t)
        finally:
            for fd in stack[1:]:
                with contextlib.suppress(OSError):
                    os.close(fd)

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
            source = self.mount_at(parts)
            if source is not None:
                os.close(fd)
                return Node(os.open(source.parent, _DIR_PATH_FLAGS), source.name, parts, source)
            return Node(fd, request.base, parts)

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

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write
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
    st = node.lstat()
    if not stat.S_ISDIR(st.st_mode):
        return
    fd = os.open(node.name or ".", _DIR_READ_FLAGS, dir_fd=node.parent)
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
            source = scope.mount_at(child_parts)
            st = _write_entry(scope, dir_fd, name, child_parts, source, rebase, child_rel, tar)
            if source is None and st is not None and stat.S_ISDIR(st.st_mode):
                try:
                    child_fd = os.open(name, _DIR_READ_FLAGS, dir_fd=dir_fd)
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
    chown: tuple[int, int] | None = None  # copyUIDGID: everything to the container's user


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
        with self.scope.resolve(parent_rel, follow=True, create_dirs=True) as parent:
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
            if self.scope.mount_at(real_parts) is not None:
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
        """Owner, xattrs, mode (after chown, which clears setuid), then times (not dirs')."""
        if member.islnk():
            return
        uid, gid = self.options.chown or (member.uid, member.gid)
        os.chown(base, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        if member.issym():
            mtime = int(member.mtime * 1_000_000_000)
            os.utime(base, ns=(mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
            return
        fd = os.open(base, _PATH_FLAGS, dir_fd=dir_fd)
        try:
            proc_path = f"/proc/self/fd/{fd}"
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
    scope: ScopedRoot, dest: tuple[str, ...], source: IO[bytes], options: ExtractOptions
) -> None:
    """Untar `source` (already decompressed) into the directory `dest` of the root."""
    _Extraction(scope, dest, options).run(source)


def decompressed(source: IO[bytes]) -> IO[bytes]:
    """Untar's DecompressStream: gzip, bzip2, xz (and zstd) bodies are accepted too."""
    from ..images.layers import decompressed as sniff

    return sniff(source)
