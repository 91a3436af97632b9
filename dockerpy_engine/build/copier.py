"""COPY and ADD: the sources, their cache key, where they land, and the tar that lands them.

dockerd's classic builder (builder/dockerfile/copy.go) is the model:
- a source is a path in its root (the context, or a stage's rootfs for `--from`), resolved
  as FullPath does; one with wildcards is matched (filepath.Match) against every path of a
  walk of the root, and each match is a source of its own;
- the destination is relative to WORKDIR; several sources need a destination ending in `/`;
  a directory source copies its contents, a file goes into a destination that ends in `/` or
  is an existing directory, and otherwise becomes the destination;
- what is copied belongs to root (or `--chown`), whoever owned it in the context; modes and
  mtimes are kept; ADD unpacks a local tar (compression sniffed, never the file name) with
  the archive's own owners instead.

Everything here blocks and runs in a worker thread. The copy itself is a tar written here and
extracted by containers/archive.py's `extract`, which keeps the tar's owners: that is why the
ownership is decided while writing.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import lzma
import os
import posixpath
import stat
import tarfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from .. import errdefs
from ..containers.archive import ScopedRoot, TarWriter, write_tree
from ..gopath import go_clean
from ..images import layers
from .context import ContextError, context_path
from .dockerignore import BadPattern, go_match, has_wildcards

_XATTR_PAX_PREFIX = "SCHILY.xattr."
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_NEW_DIR_MODE = 0o755  # dockerd's MkdirAll for destinations


class CopyError(errdefs.InvalidParameter):
    """A COPY or ADD that cannot be carried out (dockerd's texts)."""


@dataclass(frozen=True, slots=True)
class CopySource:
    """One file or directory to copy, found in its root."""

    path: Path  # absolute host path, symlinks resolved inside the root
    rel: str  # "/"-separated path in the root as named (its base is the name at the dest)
    is_dir: bool
    no_decompress: bool = False  # ADD of a URL download: never unpacked, even if a tar


# -- sources ----------------------------------------------------------------------------


def resolve_sources(
    root: Path, patterns: list[str], *, keyword: str = "COPY", in_context: bool = True
) -> list[CopySource]:
    """The sources named by COPY/ADD arguments, in order, wildcards expanded (calcCopyInfo).

    `in_context` is False for `--from`, whose missing files dockerd reports without the
    build-context hint.
    """
    sources: list[CopySource] = []
    for pattern in patterns:
        orig = pattern.removeprefix("/").removeprefix("./")
        if has_wildcards(orig):
            sources += [_source(root, rel, keyword, in_context) for rel in _matches(root, orig)]
        else:
            sources.append(_source(root, orig, keyword, in_context))
    if not sources:
        raise CopyError(f"{keyword} failed: no source files were specified")
    return sources


def _matches(root: Path, pattern: str) -> Iterator[str]:
    """copyWithWildcards: every path of the root's walk the pattern matches (a malformed
    pattern matches nothing: dockerd drops Match's error)."""
    for rel, _ in walk(root):
        try:
            if go_match(pattern, rel):
                yield rel
        except BadPattern:
            continue


def _source(root: Path, rel: str, keyword: str, in_context: bool) -> CopySource:
    try:
        path = context_path(root, rel)
        st = os.stat(path)
    except ContextError as exc:
        raise CopyError(f"{keyword} failed: {exc.message}") from None
    except FileNotFoundError:
        hint = (
            "file not found in build context or excluded by .dockerignore: " if in_context else ""
        )
        raise CopyError(f"{keyword} failed: {hint}stat {rel}: file does not exist") from None
    except NotADirectoryError:
        raise CopyError(f"{keyword} failed: stat {rel}: not a directory") from None
    return CopySource(path, go_clean(rel), stat.S_ISDIR(st.st_mode))


def walk(top: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Go's filepath.Walk below `top`: (relative path, lstat), parents first, names in byte
    order, symlinks not followed. Iterative, so a deep tree cannot exhaust the stack."""
    stack: list[tuple[str, Iterator[str]]] = [("", iter(_listing(top)))]
    while stack:
        rel, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        child = f"{rel}/{name}" if rel else name
        st = os.lstat(top / child)
        yield child, st
        if stat.S_ISDIR(st.st_mode):
            stack.append((child, iter(_listing(top / child))))


def _listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory), key=os.fsencode)


# -- cache key --------------------------------------------------------------------------


def sources_checksum(sources: list[CopySource]) -> str:
    """The sources' part of the cache key: `file:<hex>`, `dir:<hex>`, or `multi:<hex>` over
    the keys of several sources, in order (as dockerd's getSourceHashFromInfos).

    It covers names, types, modes, link targets, device numbers and every byte, not mtimes
    nor owners: COPY gives the files its own owner, and a fresh checkout's new mtimes must
    still hit the cache.
    """
    keys = [_checksum(source) for source in sources]
    if len(keys) == 1:
        return keys[0]
    return "multi:" + hashlib.sha256(",".join(keys).encode()).hexdigest()


def _checksum(source: CopySource) -> str:
    digest = hashlib.sha256()
    if source.is_dir:
        for rel, st in walk(source.path):
            _hash_entry(digest, rel, source.path / rel, st)
        return "dir:" + digest.hexdigest()
    _hash_entry(digest, posixpath.basename(source.rel), source.path, os.stat(source.path))
    return "file:" + digest.hexdigest()


def _hash_entry(digest: Any, name: str, path: Path, st: os.stat_result) -> None:
    mode = st.st_mode
    detail = ""
    if stat.S_ISREG(mode):
        detail = str(st.st_size)
    elif stat.S_ISLNK(mode):
        detail = os.readlink(path)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        detail = f"{os.major(st.st_rdev)},{os.minor(st.st_rdev)}"
    header = f"{name}\0{stat.S_IFMT(mode):o}\0{mode & 0o7777:o}\0{detail}\0"
    digest.update(header.encode("utf-8", "surrogateescape"))
    if stat.S_ISREG(mode):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb", buffering=0) as data:
            while chunk := data.read(layers.BUFSIZE):
                digest.update(chunk)


# -- destination ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyTarget:
    """Where one source goes, relative to the plan's destination directory."""

    source: CopySource
    name: str  # its tar name; "" for a directory, whose contents go to the dest directory
    unpack_to: str  # ADD: where an archive's members go ("" is the dest directory itself)


@dataclass(frozen=True, slots=True)
class CopyPlan:
    """A COPY/ADD resolved: the tar written for it is extracted into `dest_dir`."""

    dest_dir: str  # absolute container path; create it (ensure_dest_dir) before extracting
    targets: tuple[CopyTarget, ...]


def normalize_dest(workdir: str, dest: str) -> str:
    """normalizeDest: a relative destination is under WORKDIR; a trailing `/` is kept."""
    if dest.startswith("/"):
        return dest
    joined = go_clean(f"/{workdir}/{dest}")
    return joined + "/" if dest.endswith("/") else joined


def plan_copy(
    sources: list[CopySource],
    dest: str,
    workdir: str,
    *,
    keyword: str = "COPY",
    scope: ScopedRoot | None = None,
) -> CopyPlan:
    """dockerd's destination rules for these sources.

    With `scope` (the image's rootfs), a destination that already is a directory there takes
    a single file inside it, as dockerd's performCopyForInfo does; without it, only a
    trailing `/` says so.
    """
    if not sources:
        raise CopyError(f"{keyword} failed: no source files were specified")
    if len(sources) > 1 and not dest.endswith("/"):
        raise CopyError(
            f"When using {keyword} with more than one source file, the destination must be a "
            "directory and end with a /"
        )
    target = normalize_dest(workdir, dest)
    path = go_clean(target)
    first = sources[0]  # the only one unless `dest` ends in "/"
    into_dir = target.endswith("/") or path == "/" or first.is_dir
    if not into_dir and not (scope is not None and _is_dir(scope, path)):
        parent, name = posixpath.split(path)  # the file becomes `dest`
        return CopyPlan(parent, (CopyTarget(first, name, name),))
    targets = tuple(
        CopyTarget(source, "" if source.is_dir else posixpath.basename(source.rel), "")
        for source in sources
    )
    return CopyPlan(path, targets)


def _is_dir(scope: ScopedRoot, path: str) -> bool:
    try:
        with scope.resolve(path, follow=True) as node:
            return node.source is None and stat.S_ISDIR(node.lstat().st_mode)
    except OSError:
        return False


def ensure_dest_dir(scope: ScopedRoot, dest_dir: str, chown: tuple[int, int] | None) -> None:
    """MkdirAll of `dest_dir` in the image's root: the missing directories are made 0755 and
    owned by `chown` (root by default); existing ones are left as they are.

    As dockerd, the path is first resolved in scope (FollowSymlinkInScope: a symlink to a
    missing directory leads to creating that directory, inside the root), then made.
    """
    uid, gid = chown or (0, 0)
    try:
        with scope.resolve(dest_dir, follow=True, lenient=True) as node:
            parts = node.parts
    except OSError as exc:
        raise _mkdir_error("/" + dest_dir.strip("/"), exc) from None
    for depth in range(1, len(parts) + 1):
        path = "/" + "/".join(parts[:depth])
        try:
            with scope.resolve(path, follow=True) as node:
                if node.source is not None:
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory")
                try:
                    mode = node.lstat().st_mode
                except FileNotFoundError:
                    _make_dir(node.parent, node.name, uid, gid)
                    continue
                if not stat.S_ISDIR(mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory")
        except OSError as exc:
            raise _mkdir_error(path, exc) from None


def _mkdir_error(path: str, exc: OSError) -> CopyError:
    """Go's text for a failed MkdirAll: the strerror in lower case."""
    return CopyError(f"mkdir {path}: {(exc.strerror or str(exc)).lower()}")


def _make_dir(parent: int, name: str, uid: int, gid: int) -> None:
    """mkdirat, then owner and exact mode (no umask) through an O_PATH fd of the new dir."""
    os.mkdir(name, _NEW_DIR_MODE, dir_fd=parent)
    fd = os.open(name, _PATH_FLAGS, dir_fd=parent)
    try:
        proc_path = f"/proc/self/fd/{fd}"
        os.chown(proc_path, uid, gid)
        os.chmod(proc_path, _NEW_DIR_MODE)
    finally:
        os.close(fd)


# -- the tar ----------------------------------------------------------------------------


class _CopyWriter(TarWriter):
    """A TarWriter giving what COPY copies its owner (root or --chown) and --chmod mode;
    archive members (ADD) go through `add_member` as they are."""

    def __init__(
        self, write: Callable[[bytes], Any], owner: tuple[int, int], chmod: int | None
    ) -> None:
        super().__init__(write)
        self._owner = owner
        self._chmod = chmod

    def add(
        self, info: tarfile.TarInfo, data: IO[bytes] | None = None, dedupe: tuple[int, int] = (0, 0)
    ) -> None:
        info.uid, info.gid = self._owner
        if self._chmod is not None and info.type != tarfile.SYMTYPE:
            info.mode = self._chmod
        super().add(info, data, dedupe)

    def add_member(self, info: tarfile.TarInfo, data: IO[bytes] | None = None) -> None:
        super().add(info, data)

    def next_source(self) -> None:
        """dockerd copies each source on its own: hard links are kept within one only."""
        self._links.clear()


def write_copy_tar(
    plan: CopyPlan,
    out: BinaryIO,
    *,
    chown: tuple[int, int] | None,
    chmod: int | None,
    extract_archives: bool,
) -> None:
    """The uncompressed tar of `plan`, names relative to `plan.dest_dir`.

    Copied entries belong to `chown` (0:0 by default) and get `chmod` (files and
    directories). With `extract_archives` (ADD), a source file that is a tar (plain, gzip,
    bzip2, xz or zstd, by content) is unpacked instead: its members, names cleaned under the
    target, keep the archive's owners and modes, as dockerd's UntarPath does.
    """
    tar = _CopyWriter(out.write, chown or (0, 0), chmod)
    for target in plan.targets:
        tar.next_source()
        source = target.source
        if extract_archives and not source.is_dir and not source.no_decompress:
            where = go_clean(f"{plan.dest_dir}/{target.unpack_to}")
            if _unpack_archive(source.path, target.unpack_to, where, tar):
                continue
        _write_source(source, target.name, tar)
    tar.close()


def _write_source(source: CopySource, name: str, tar: TarWriter) -> None:
    """A directory's contents (names relative to it), or one file named `name`."""
    if source.is_dir:
        with ScopedRoot.open(source.path) as scope, scope.resolve("", False) as node:
            write_tree(scope, node, "", tar)
        return
    with (
        ScopedRoot.open(source.path.parent) as scope,
        scope.resolve(source.path.name, False) as node,
    ):
        write_tree(scope, node, name, tar)


def _unpack_archive(path: Path, prefix: str, where: str, tar: _CopyWriter) -> bool:
    """Re-emit a tar's members under `prefix`; False when `path` is no tar to dockerd
    (isArchivePath: no first header after decompression), so it is copied as a file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", buffering=layers.BUFSIZE) as raw, contextlib.ExitStack() as stack:
        try:
            stream = layers.decompressed(raw)
            archive = stack.enter_context(tarfile.open(fileobj=stream, mode="r|"))  # type: ignore[call-overload]
            member = archive.next()
        except Exception:  # any failure to read a first header: not an archive
            return False
        if member is None:
            return False
        if prefix:
            tar.add_member(_new_dir(prefix))
        try:
            while member is not None:
                _unpack_member(archive, member, prefix, where, tar)
                archive.members.clear()  # stream mode would keep every header
                member = archive.next()
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise CopyError(f"failed to copy files: {exc}") from None  # a corrupt archive
    return True


def _new_dir(name: str) -> tarfile.TarInfo:
    """The directory UntarPath makes for its destination: 0755, root's, now."""
    info = tarfile.TarInfo(name + "/")
    info.type = tarfile.DIRTYPE
    info.mode = _NEW_DIR_MODE
    info.mtime = int(time.time())
    return info


def _unpack_member(
    archive: tarfile.TarFile, member: tarfile.TarInfo, prefix: str, where: str, tar: _CopyWriter
) -> None:
    rel = _member_rel(member.name, where)
    if not rel:
        return  # the archive's root: the destination directory itself
    info = tarfile.TarInfo(posixpath.join(prefix, rel))
    info.mode = member.mode & 0o7777
    info.uid, info.gid = member.uid, member.gid
    info.mtime = member.mtime
    info.pax_headers = {
        k: v for k, v in member.pax_headers.items() if k.startswith(_XATTR_PAX_PREFIX)
    }
    data = None
    if member.isreg():
        info.type, info.size = tarfile.REGTYPE, member.size
        data = archive.extractfile(member)
    elif member.isdir():
        info.type = tarfile.DIRTYPE
        info.name += "/"
    elif member.issym():
        if layers.symlink_escapes(posixpath.dirname(rel), member.linkname):
            target = go_clean(f"{where}/{posixpath.dirname(rel)}/{member.linkname}")
            raise CopyError(f'invalid symlink "{target}" -> "{member.linkname}"')
        info.type, info.linkname = tarfile.SYMTYPE, member.linkname
    elif member.islnk():
        linked = _member_rel(member.linkname, where)
        if not linked:
            raise CopyError(f'invalid hardlink "{where}" -> "{member.linkname}"')
        info.type, info.linkname = tarfile.LNKTYPE, posixpath.join(prefix, linked)
    elif member.ischr() or member.isblk() or member.isfifo():
        info.type = member.type
        info.devmajor, info.devminor = member.devmajor, member.devminor
    else:
        raise CopyError(f"unhandled tar header type {member.type!r} for {member.name!r}")
    tar.add_member(info, data)


def _member_rel(name: str, where: str) -> str:
    """A member name cleaned to a path under the unpack directory (absolute names are made
    relative); one that climbs out is dockerd's breakout error."""
    if layers.climbs_out(name):
        raise CopyError(f'"{go_clean(name)}" is outside of "{where}"')
    try:
        return layers.clean_member_name(name)
    except layers.LayerError as exc:
        raise CopyError(exc.message) from None
