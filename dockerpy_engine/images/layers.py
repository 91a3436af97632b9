"""Layer tars: safe extraction into a layer directory, the DiffID, and the kept tar.

Everything here is synchronous and runs in a worker thread (`asyncio.to_thread`).

A layer tar comes from users and registries, so it is hostile until proven otherwise. The
extractor never writes outside the layer root:

- member names are cleaned like Go's filepath.Clean with the root as `/`: absolute names
  become relative and `..` stops at the root, as in dockerd, which unpacks chrooted into the
  layer directory (so `../x` and `/../x` are both `x`);
- parent directories are resolved *inside* the root, symlinks included (as securejoin
  does): a symlink `a -> /etc` makes `a/passwd` land in `<root>/etc/passwd`, never the host;
- the final component is never followed: an existing entry is removed and replaced, and
  files are opened with O_NOFOLLOW | O_EXCL;
- hard links must point at an entry already extracted into this layer;
- symlinks are data and may point anywhere (dockerd, chrooted, accepts them all): whatever
  later resolves them (the extractor itself, docker cp, the builder, runc) does so inside
  the root;
- `trusted.overlay.*` xattrs from the tar are dropped (only our whiteout conversion sets them).

OCI whiteouts are converted to overlayfs form (`.wh.name` -> char device 0/0 `name`,
`.wh..wh..opq` -> `trusted.overlay.opaque=y` on the directory), as dockerd's overlay2 does.

While extracting, the uncompressed bytes are hashed (the DiffID is sha256 of the
uncompressed tar, trailing padding included) and copied to a temp file that is fsynced and
renamed into place, so save/push can later send exactly the bytes whose DiffID we recorded.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import hashlib
import io
import logging
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from ..errdefs import InvalidParameter
from ..idmap import NO_MAPPING, IdentityMapping

log = logging.getLogger(__name__)

BUFSIZE = 1 << 20
_TAR_STREAM_BUFSIZE = 64 << 10
WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_XATTR_PAX_PREFIX = "SCHILY.xattr."
_MAX_SYMLINKS = 255

_MAGIC_GZIP = b"\x1f\x8b\x08"
_MAGIC_BZIP2 = b"BZh"
_MAGIC_XZ = b"\xfd7zXZ\x00"
_MAGIC_ZSTD = b"\x28\xb5\x2f\xfd"


class LayerError(InvalidParameter):
    """A layer or archive that is corrupt or tries to escape its directory (400)."""


@dataclass(frozen=True, slots=True)
class LayerStats:
    """What extraction measured: the DiffID, unpacked size (sum of entry sizes), tar size."""

    diff_id: str
    size: int
    tar_size: int


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How to extract: layers get everything; `docker load` archives only files and links."""

    whiteouts: bool = True  # convert OCI whiteouts to overlay form
    same_owner: bool = True  # lchown to the tar's uid/gid
    special_files: bool = True  # create device nodes and fifos
    xattrs: bool = True
    ids: IdentityMapping = NO_MAPPING  # --userns-remap: owners moved into the remapped range


LAYER = ExtractOptions()
ARCHIVE = ExtractOptions(whiteouts=False, same_owner=False, special_files=False, xattrs=False)


# -- decompression -------------------------------------------------------------------


class _Prepended(io.RawIOBase):
    """Bytes already peeked, then the rest of the source: lets us sniff magic numbers."""

    def __init__(self, head: bytes, source: IO[bytes]) -> None:
        self._head = head
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._source.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    """Read up to `size` bytes, looping over short reads (pipes and sockets return less)."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        chunk = source.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def decompressed(source: IO[bytes]) -> IO[bytes]:
    """DecompressStream: detect gzip, bzip2, xz or zstd by magic bytes; else pass through."""
    head = _read_exactly(source, 6)
    raw = io.BufferedReader(_Prepended(head, source), BUFSIZE)
    if head.startswith(_MAGIC_GZIP):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head.startswith(_MAGIC_BZIP2):
        return bz2.BZ2File(raw, mode="rb")
    if head.startswith(_MAGIC_XZ):
        return lzma.LZMAFile(raw, mode="rb")
    if head.startswith(_MAGIC_ZSTD):
        try:
            import zstandard  # optional dependency: only zstd layers need it
        except ImportError as exc:
            raise LayerError("zstd-compressed layers are not supported on this daemon") from exc
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return raw


class _Tee(io.RawIOBase):
    """Reads the uncompressed stream, hashing it and copying it to the kept tar file."""

    def __init__(self, source: IO[bytes], copy_to: IO[bytes] | None, digest: bool) -> None:
        self._source = source
        self._copy_to = copy_to
        self._hash = hashlib.sha256() if digest else None
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._source.read(len(view))
        except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
            raise LayerError(f"failed to read layer: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__ != "ZstdError":
                raise
            raise LayerError(f"failed to read layer: {exc}") from exc
        if not data:
            return 0
        view[: len(data)] = data
        self.count += len(data)
        if self._hash is not None:
            self._hash.update(data)
        if self._copy_to is not None:
            self._copy_to.write(data)
        return len(data)

    def drain(self) -> None:
        """Consume trailing bytes after the tar's end marker: they are part of the DiffID."""
        while self.read(BUFSIZE):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + (self._hash.hexdigest() if self._hash else "")


# -- path handling -------------------------------------------------------------------


def clean_member_name(name: str) -> str:
    """filepath.Clean a member name into a root-relative path ('' is the root itself).

    dockerd unpacks layers and build contexts chrooted into their directory, where `..` at
    the top is the top itself: `../x`, `/../x` and `a/../../x` all name `x` in the root.
    """
    if "\x00" in name:
        raise LayerError(f"invalid path {name!r}")
    return posixpath.normpath("/" + name).lstrip("/")


def climbs_out(name: str) -> bool:
    """A relative member name that leaves the directory it is unpacked into (`../x`): the
    breakout dockerd refuses where it unpacks below a root (ADD into an image's /opt)."""
    cleaned = posixpath.normpath(name) if name else "."
    return not name.startswith("/") and (cleaned == ".." or cleaned.startswith("../"))


def symlink_escapes(parent: str, target: str) -> bool:
    """dockerd's lexical check: Join(dir(path), linkname) must stay under the root."""
    depth = len([p for p in parent.split("/") if p])
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        else:
            depth += 1
    return False


class ScopedRoot:
    """A directory in which every path is resolved without ever leaving it (securejoin)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_dirs: set[str] = {""}  # relative paths known to be plain directories

    def path(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def resolve_dir(self, rel: str, create: bool) -> str:
        """Resolve `rel` to a real directory inside the root, following symlinks in scope.

        Missing components are created (0755, as dockerd's MkdirAll) when `create`; a
        component that is neither a directory nor a symlink is an error.
        """
        if rel in self._real_dirs:
            return rel
        pending = [p for p in rel.split("/") if p]
        pending.reverse()
        resolved: list[str] = []
        links = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/".join([*resolved, part])
            try:
                st = os.lstat(self.path(candidate))
            except FileNotFoundError:
                if not create:
                    raise LayerError(f"invalid path {rel!r}: no such directory") from None
                os.mkdir(self.path(candidate), 0o755)
                resolved.append(part)
                continue
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_SYMLINKS:
                    raise LayerError(f"invalid path {rel!r}: too many levels of symbolic links")
                target = os.readlink(self.path(candidate))
                if target.startswith("/"):
                    resolved = []
                pending.extend(reversed([p for p in target.split("/") if p]))
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise LayerError(f"invalid path {rel!r}: not a directory")
            resolved.append(part)
        real = "/".join(resolved)
        if real == rel:
            self._real_dirs.add(rel)
        return real

    def resolve_file(self, name: str) -> Path:
        """Resolve a member name to an existing non-directory, following symlinks in scope.

        Old `docker save` archives link duplicate layers (`<id>/layer.tar -> ../<other>/…`);
        the link is followed, but only ever to somewhere inside the root.
        """
        rel = clean_member_name(name)
        for _ in range(_MAX_SYMLINKS):
            parent, base = posixpath.split(rel)
            try:
                real_parent = self.resolve_dir(parent, create=False)
            except LayerError:
                raise LayerError(f"invalid archive: {name} does not exist") from None
            candidate = f"{real_parent}/{base}" if real_parent else base
            try:
                st = os.lstat(self.path(candidate))
            except FileNotFoundError:
                raise LayerError(f"invalid archive: {name} does not exist") from None
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(self.path(candidate))
                joined = target if target.startswith("/") else f"{real_parent}/{target}"
                rel = posixpath.normpath("/" + joined).lstrip("/")
                continue
            if stat.S_ISDIR(st.st_mode) or not base:
                raise LayerError(f"invalid archive: {name} is a directory")
            return self.path(candidate)
        raise LayerError(f"invalid archive: {name}: too many levels of symbolic links")

    def forget(self, rel: str) -> None:
        """`rel` was removed or replaced: drop it and everything under it from the cache."""
        prefix = rel + "/"
        self._real_dirs = {d for d in self._real_dirs if d != rel and not d.startswith(prefix)}
        self._real_dirs.add("")

    def remove(self, rel: str) -> None:
        """Remove whatever is at `rel` (never following a symlink)."""
        path = self.path(rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
            self.forget(rel)
        else:
            os.unlink(path)


# -- extraction ----------------------------------------------------------------------


class _Extractor:
    """One pass over a tar stream into a root directory."""

    def __init__(self, root: Path, options: ExtractOptions) -> None:
        self.scope = ScopedRoot(root)
        self.options = options
        self.size = 0
        self._dir_times: dict[str, int] = {}

    def run(self, tar: tarfile.TarFile) -> None:
        while (member := tar.next()) is not None:
            self._entry(tar, member)
            tar.members.clear()  # stream mode keeps every TarInfo otherwise
        for rel, mtime_ns in reversed(self._dir_times.items()):
            with contextlib.suppress(FileNotFoundError):  # a later entry replaced it
                os.utime(self.scope.path(rel), ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    def _entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        rel = clean_member_name(member.name)
        parent, base = posixpath.split(rel)
        if self.options.whiteouts and base.startswith(WHITEOUT_PREFIX):
            self._whiteout(member, parent, base)
            return
        if not rel:
            if not member.isdir():
                raise LayerError(f"invalid path {member.name!r}: the root must be a directory")
            self._metadata("", member)
            return
        real_parent = self.scope.resolve_dir(parent, create=True)
        target = f"{real_parent}/{base}" if real_parent else base
        self._create(tar, member, target)

    def _whiteout(self, member: tarfile.TarInfo, parent: str, base: str) -> None:
        real_parent = self.scope.resolve_dir(parent, create=True)
        if base == WHITEOUT_OPAQUE:
            os.setxattr(self.scope.path(real_parent), OVERLAY_OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # AUFS bookkeeping (.wh..wh.plnk and friends): nothing to apply
        name = base[len(WHITEOUT_PREFIX) :]
        if name in ("", ".", ".."):
            raise LayerError(f"invalid whiteout {member.name!r}")
        target = f"{real_parent}/{name}" if real_parent else name
        self.scope.remove(target)
        path = self.scope.path(target)
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        if self.options.same_owner:
            os.chown(path, *self.options.ids.to_host(member.uid, member.gid), follow_symlinks=False)

    def _create(self, tar: tarfile.TarFile, member: tarfile.TarInfo, target: str) -> None:
        path = self.scope.path(target)
        try:
            existing = os.lstat(path)
        except FileNotFoundError:
            existing = None
        if existing is not None and not (stat.S_ISDIR(existing.st_mode) and member.isdir()):
            self.scope.remove(target)
        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                os.mkdir(path, 0o700)
        elif member.isreg():
            self._write_file(tar, member, path)
            self.size += member.size
        elif member.islnk():
            self._hardlink(member, path)
        elif member.issym():  # any target: it resolves inside the root (chrooted, as dockerd)
            os.symlink(member.linkname, path)
        elif member.ischr() or member.isblk() or member.isfifo():
            if not self.options.special_files:
                return
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            if member.isfifo():
                kind = stat.S_IFIFO
            try:
                os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
            except PermissionError:
                log.warning("cannot create device node %s (not privileged); skipped", target)
                return
        else:
            raise LayerError(f"unhandled tar header type {member.type!r} for {member.name!r}")
        self._metadata(target, member)

    def _write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb", buffering=0) as out:
            data = tar.extractfile(member)
            if data is None:
                return
            try:
                shutil.copyfileobj(data, out, BUFSIZE)
            except tarfile.TarError as exc:
                raise LayerError(f"corrupt layer tar: {exc}") from exc

    def _hardlink(self, member: tarfile.TarInfo, path: Path) -> None:
        link_rel = clean_member_name(member.linkname)
        link_parent, link_base = posixpath.split(link_rel)
        if not link_base:
            raise LayerError(f'invalid hardlink "{member.name}" -> "{member.linkname}"')
        try:
            real_parent = self.scope.resolve_dir(link_parent, create=False)
        except LayerError:
            raise LayerError(
                f'invalid hardlink "{member.name}" -> "{member.linkname}": no such file'
            ) from None
        source = self.scope.path(f"{real_parent}/{link_base}" if real_parent else link_base)
        try:
            st = os.lstat(source)
        except FileNotFoundError:
            raise LayerError(
                f'invalid hardlink "{member.name}" -> "{member.linkname}": no such file'
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise LayerError(f'invalid hardlink "{member.name}" -> "{member.linkname}"')
        os.link(source, path, follow_symlinks=False)

    def _metadata(self, rel: str, member: tarfile.TarInfo) -> None:
        """Owner, then mode (chown clears setuid), xattrs, mtime; symlinks are never followed."""
        path = self.scope.path(rel)
        if member.islnk():
            return  # a hard link shares the target's inode and metadata
        if self.options.same_owner:
            os.chown(path, *self.options.ids.to_host(member.uid, member.gid), follow_symlinks=False)
        if not member.issym():
            os.chmod(path, member.mode & 0o7777)
        if self.options.xattrs:
            self._xattrs(path, member)
        mtime_ns = int(member.mtime * 1_000_000_000)
        if member.isdir():
            self._dir_times[rel] = mtime_ns
        else:
            os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    @staticmethod
    def _xattrs(path: Path, member: tarfile.TarInfo) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith(_XATTR_PAX_PREFIX):
                continue
            name = key[len(_XATTR_PAX_PREFIX) :]
            if name.startswith("trusted.overlay."):
                continue  # would let a layer forge whiteouts/redirects in our overlay mounts
            raw = value.encode("utf-8", "surrogateescape")
            try:
                os.setxattr(path, name, raw, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.EOPNOTSUPP):
                    raise


def extract(
    source: IO[bytes],
    dest: Path,
    *,
    keep_tar: Path | None = None,
    options: ExtractOptions = LAYER,
    digest: bool = True,
) -> LayerStats:
    """Extract a (possibly compressed) tar stream into `dest`, an existing empty directory.

    Returns the DiffID (sha256 of the uncompressed bytes), the unpacked size and the tar
    size. With `keep_tar`, the uncompressed bytes are written to `<keep_tar>.tmp`, fsynced
    and renamed to `keep_tar` once the whole stream has been read and applied.
    """
    stream = decompressed(source)
    tmp_tar = keep_tar.with_name(keep_tar.name + ".tmp") if keep_tar else None
    copy_to = open(tmp_tar, "wb", buffering=BUFSIZE) if tmp_tar else None  # noqa: SIM115
    try:
        tee = _Tee(stream, copy_to, digest)
        reader = io.BufferedReader(tee, BUFSIZE)
        extractor = _Extractor(dest, options)
        if reader.peek(1):
            try:
                # tarfile's stream buffer is re-sliced on every header read: keep it small
                # (the 1 MiB buffering happens below it, in `reader`).
                with tarfile.open(fileobj=reader, mode="r|", bufsize=_TAR_STREAM_BUFSIZE) as tar:  # type: ignore[call-overload]
                    extractor.run(tar)
            except tarfile.TarError as exc:
                raise LayerError(f"invalid tar archive: {exc}") from exc
        while reader.read(BUFSIZE):
            pass  # trailing padding is part of the DiffID
        tee.drain()
        if copy_to is not None and tmp_tar is not None and keep_tar is not None:
            copy_to.flush()
            os.fsync(copy_to.fileno())
            copy_to.close()
            os.replace(tmp_tar, keep_tar)
        return LayerStats(tee.digest, extractor.size, tee.count)
    finally:
        if copy_to is not None and not copy_to.closed:
            copy_to.close()
        if tmp_tar is not None and tmp_tar.exists():
            tmp_tar.unlink()


def extract_file(path: Path, dest: Path, **kwargs: Any) -> LayerStats:
    """`extract` from a file on disk (opened without following a final symlink)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", buffering=BUFSIZE) as source:
        return extract(source, dest, **kwargs)


def iter_file(path: Path, bufsize: int = BUFSIZE) -> Iterator[bytes]:
    """Stream a stored layer tar in large chunks (save/push read it back this way)."""
    with open(path, "rb", buffering=0) as src:
        while chunk := src.read(bufsize):
            yield chunk


def copy_file(path: Path, out: BinaryIO) -> int:
    """Copy a stored layer tar into a writable stream; returns the byte count."""
    total = 0
    for chunk in iter_file(path):
        out.write(chunk)
        total += len(chunk)
    return total


def sha256_file(path: Path) -> str:
    """`sha256:<hex>` of a file, read in large chunks."""
    digest = hashlib.sha256()
    for chunk in iter_file(path):
        digest.update(chunk)
    return "sha256:" + digest.hexdigest()
