"""docker cp and docker export: tar archives between the daemon and the local filesystem.

`cp` follows the docker CLI's archive package (moby/go-archive's CopyInfo logic): the source is
stat-ed, archived with its base name, and the archive's entries renamed so that extracting it
in the destination's directory gives the name the user asked for (`cp f c:/tmp/g` makes
`/tmp/g`; `cp dir c:/new` makes `/new` when it does not exist, `/new/dir` when it does).
Container paths are stat-ed with HEAD /containers/{id}/archive, whose answer carries the stat
as base64 JSON in `X-Docker-Container-Path-Stat` (`mode` is a Go os.FileMode).

When stdout is a terminal (or -q=false), the byte count of the transferred archive is
reported on stderr as docker 28 does: `Successfully copied 2.05kB to c:/tmp/x`.
"""

from __future__ import annotations

import base64
import json
import os
import stat as st
import tarfile

from cli._options import Options
from cli.api import APIError, CLIError, quote
from cli.env import Env
from cli.format import human_size_precision

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import IO, Any

__all__ = ["CopyOptions", "cp", "export", "split_cp_arg"]

# os.FileMode bits (Go), as the daemon's path stat reports them
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_CHARDEV = 1 << 21
_GO_IRREGULAR = 1 << 19


class CopyOptions(Options):
    source: str
    destination: str
    follow_link: bool = False  # -L
    archive: bool = False  # -a: keep uid/gid (copyUIDGID)
    quiet: bool | None = None  # -q; None: quiet unless stdout is a terminal


class _Info(Options):
    """archive.CopyInfo: a path, whether it exists and is a directory, and the name its
    archive entries should take instead of the path's base name."""

    path: str
    exists: bool = False
    is_dir: bool = False
    rebase_name: str = ""


def split_cp_arg(arg: str) -> tuple[str, str]:
    """(container, path) of `CONTAINER:PATH`; ("", arg) for a local path (absolute, without
    a colon, or starting with `.` like `./file:name`)."""
    if arg.startswith("/"):
        return "", arg
    ctr, sep, path = arg.partition(":")
    if not sep or ctr.startswith("."):
        return "", arg
    return ctr, path


def cp(env: Env, opts: CopyOptions) -> int:
    if not opts.source:
        raise CLIError("source can not be empty")
    if not opts.destination:
        raise CLIError("destination can not be empty")
    quiet = (not env.stdout_is_tty()) if opts.quiet is None else opts.quiet
    src_ctr, src_path = split_cp_arg(opts.source)
    dst_ctr, dst_path = split_cp_arg(opts.destination)
    if src_ctr and dst_ctr:
        raise CLIError("copying between containers is not supported")
    if src_ctr:
        return _from_container(env, src_ctr, src_path, dst_path, opts.follow_link, quiet)
    if dst_ctr:
        return _to_container(env, dst_ctr, opts, src_path, dst_path, quiet)
    raise CLIError("must specify at least one container source")


# ---------------------------------------------------------------------------------------------
# paths


def _go_error(op: str, path: str, e: OSError) -> CLIError:
    """An OSError as Go's *PathError prints it: `lstat /x: no such file or directory`."""
    reason = (e.strerror or str(e)).lower()
    return CLIError(f"{op} {path}: {reason}")


def _specifies_current_dir(path: str) -> bool:
    return os.path.basename(path) == "."


def _has_trailing_sep(path: str) -> bool:
    return path.endswith("/")


def _asserts_directory(path: str) -> bool:
    return _has_trailing_sep(path) or _specifies_current_dir(path)


def _split_dir_entry(path: str) -> tuple[str, str]:
    """archive.SplitPathDirEntry: the cleaned path's directory and base (`.` kept)."""
    cleaned = os.path.normpath(path)
    if _specifies_current_dir(path):
        cleaned += "/."
    return os.path.dirname(cleaned) or ".", os.path.basename(cleaned)


def _resolve_local(path: str) -> str:
    """filepath.Abs keeping a trailing `/` or `/.` (they change what is copied)."""
    absolute = os.path.abspath(path)
    if _specifies_current_dir(path) and not _specifies_current_dir(absolute):
        absolute += "/."
    if _has_trailing_sep(path) and not _has_trailing_sep(absolute):
        absolute += "/"
    return absolute


def _rebase_name(path: str, resolved: str) -> tuple[str, str]:
    """archive.GetRebaseName: the resolved path (keeping the original's trailing `/` or
    `/.`) and, when resolving changed the base name, the name to rebase entries to."""
    if _specifies_current_dir(path) and not _specifies_current_dir(resolved):
        resolved += "/."
    if _has_trailing_sep(path) and not _has_trailing_sep(resolved):
        resolved += "/"
    rebase = ""
    if os.path.basename(path.rstrip("/") or "/") != os.path.basename(resolved.rstrip("/") or "/"):
        rebase = os.path.basename(path.rstrip("/"))
    return resolved, rebase


def _file_mode_error(mode: int) -> str:
    """command.ValidateOutputPathFileMode: why a path that is neither a directory nor a
    regular file can't be written."""
    for bit, what in (
        (_GO_DEVICE, "got a device"),
        (_GO_IRREGULAR, "got an irregular file"),
        (_GO_PIPE, "got a named pipe"),
        (_GO_SOCKET, "got a socket"),
        (_GO_SYMLINK, "got a symbolic link"),
        (_GO_CHARDEV, "got a device"),
    ):
        if mode & bit:
            return what
    return ""


def _stat_container(env: Env, container: str, path: str) -> dict[str, Any] | None:
    """ContainerStatPath; None when it fails (callers carry on as docker does)."""
    try:
        headers = env.api.head(f"/containers/{quote(container)}/archive", {"path": path})
    except CLIError:
        return None
    raw = headers.get("x-docker-container-path-stat")
    return json.loads(base64.b64decode(raw)) if raw else None


def _prepare(src: _Info, dst: _Info) -> tuple[str, str, str]:
    """archive.PrepareArchiveCopy: the directory to extract into, and the entry base name to
    rename (old, new; empty when none)."""
    dst_dir, dst_base = _split_dir_entry(dst.path)
    _, src_base = _split_dir_entry(src.path)
    if dst.exists and dst.is_dir:
        return dst.path, "", ""
    if dst.exists and src.is_dir:
        raise CLIError("cannot copy directory")
    if not dst.exists and not src.is_dir and _asserts_directory(dst.path):
        raise CLIError("no such directory")
    return dst_dir, src.rebase_name or src_base, dst_base


def _rename(name: str, old: str, new: str) -> str:
    """RebaseArchiveEntries for one entry name."""
    if not old:
        return name
    if name == old or name.startswith(old + "/"):
        return new + name[len(old) :]
    return name


class _Counted:
    """A chunk iterator that counts the bytes going through it."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.total += len(chunk)
            yield chunk


def _summary(env: Env, size: int, dest: str) -> None:
    env.err.write(f"Successfully copied {human_size_precision(size, 3)} to {dest}\n")


# ---------------------------------------------------------------------------------------------
# container → local


class _ChunkReader:
    """A file-like reader over chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.it = iter(chunks)
        self.buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            chunk = next(self.it, None)
            if chunk is None:
                break
            self.buf += chunk
        if n < 0:
            n = len(self.buf)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def _from_container(
    env: Env, container: str, src_path: str, dst_path: str, follow: bool, quiet: bool
) -> int:
    if dst_path != "-":
        dst_path = _resolve_local(dst_path)
        parent = os.path.dirname(os.path.normpath(dst_path))
        if parent and not os.path.exists(parent):
            raise CLIError(f'invalid output path: directory "{parent}" does not exist')
    rebase = ""
    if follow:
        info = _stat_container(env, container, src_path)
        if info is not None and info["mode"] & _GO_SYMLINK:
            target = info.get("linkTarget") or ""
            if not target.startswith("/"):
                target = os.path.join(_split_dir_entry(src_path)[0], target)
            src_path, rebase = _rebase_name(src_path, os.path.normpath(target))
    resp = env.api.request("GET", f"/containers/{quote(container)}/archive", {"path": src_path})
    try:
        if dst_path == "-":
            out = env.out_b
            for chunk in resp.chunks():
                out.write(chunk)
            out.flush()
            return 0
        raw = resp.headers.get("x-docker-container-path-stat")
        mode = json.loads(base64.b64decode(raw))["mode"] if raw else 0
        src = _Info(src_path, True, bool(mode & _GO_DIR), rebase)
        counted = _Counted(resp.chunks())
        error = None
        try:
            _copy_to_local(counted, src, dst_path)
        except CLIError as e:
            error = e
        if not quiet:
            _summary(env, counted.total, dst_path)
        if error is not None:
            raise error
    finally:
        resp.close()
    return 0


def _destination_info(path: str) -> _Info:
    """archive.CopyInfoDestinationPath: follow symlinks at the destination; a missing path
    needs an existing parent directory."""
    original = path
    for _ in range(11):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            parent = _split_dir_entry(path)[0]
            try:
                parent_info = os.stat(parent)
            except OSError as e:
                raise _go_error("stat", parent, e) from None
            if not st.S_ISDIR(parent_info.st_mode):
                raise CLIError("not a directory") from None
            return _Info(path)
        except OSError as e:
            raise _go_error("lstat", path, e) from None
        if not st.S_ISLNK(info.st_mode):
            return _Info(path, True, st.S_ISDIR(info.st_mode))
        target = os.readlink(path)
        path = target if target.startswith("/") else os.path.join(_split_dir_entry(path)[0], target)
    raise CLIError(f"too many symlinks in {original}")


def _copy_to_local(chunks: Iterable[bytes], src: _Info, dst_path: str) -> None:
    """archive.CopyTo: extract the container's archive so that it lands at dst_path."""
    dst = _destination_info(dst_path)
    dst_dir, old, new = _prepare(src, dst)
    # -L: the entries take the link's name first (RebaseArchiveEntries before CopyTo)
    first = _split_dir_entry(src.path)[1] if src.rebase_name else ""

    def rename(name: str) -> str:
        return _rename(_rename(name, first, src.rebase_name), old, new)

    _untar(_ChunkReader(chunks), dst_dir, rename)


def _untar(stream: Any, dest: str, rename: Callable[[str], str]) -> None:
    """archive.Untar with NoLchown and NoOverwriteDirNonDir: entries created under dest
    (never outside it) with their modes and times; directory times set last."""
    dest = os.path.abspath(dest)
    dir_times: list[tuple[str, float]] = []
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = rename(member.name).rstrip("/")
            path = os.path.normpath(os.path.join(dest, name))
            if path != dest and not path.startswith(dest.rstrip("/") + "/"):
                raise CLIError(f"invalid tar header: {member.name} is outside of {dest}")
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            _replace_existing(path, member)
            if member.isdir():
                if not os.path.isdir(path):
                    os.mkdir(path, 0o755)
                dir_times.append((path, member.mtime))
            elif member.issym():
                os.symlink(member.linkname, path)
            elif member.islnk():
                target = os.path.join(dest, rename(member.linkname))
                os.link(target, path)
            elif member.isreg():
                src_file = tar.extractfile(member)
                assert src_file is not None
                with open(path, "wb") as f:
                    while data := src_file.read(1 << 20):
                        f.write(data)
            else:
                continue  # devices and fifos need privileges docker cp doesn't assume
            if not member.issym():
                os.chmod(path, member.mode & 0o7777)
            os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
    for path, mtime in reversed(dir_times):
        os.utime(path, (mtime, mtime))


def _replace_existing(path: str, member: tarfile.TarInfo) -> None:
    """What Untar does with an existing path: a directory stays for a directory entry, is an
    error for anything else; other things are replaced."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    is_dir = st.S_ISDIR(info.st_mode)
    if is_dir and not member.isdir():
        raise CLIError(f'cannot overwrite directory "{path}" with non-directory "{member.name}"')
    if not is_dir and member.isdir():
        raise CLIError(f'cannot overwrite non-directory "{path}" with directory "{member.name}"')
    if not is_dir:
        os.unlink(path)


# ---------------------------------------------------------------------------------------------
# local → container


def _source_info(path: str, follow: bool) -> _Info:
    """archive.CopyInfoSourcePath: resolve symlinks in the parent (in the path too with -L)."""
    try:
        if follow:
            resolved, rebase = _rebase_name(path, _eval_symlinks(path))
        else:
            directory, base = os.path.split(path)
            resolved = _eval_symlinks(directory or ".").rstrip("/") + "/" + base
            rebase = ""
            if _has_trailing_sep(path) and os.path.basename(path) != os.path.basename(resolved):
                rebase = os.path.basename(path)
        info = os.lstat(resolved)
    except OSError as e:
        raise _go_error("lstat", e.filename or path, e) from None
    return _Info(resolved, True, st.S_ISDIR(info.st_mode), rebase)


def _eval_symlinks(path: str) -> str:
    """filepath.EvalSymlinks: the real path, an error when it does not exist."""
    os.lstat(path)
    return os.path.realpath(path)


def _tar_entries(root: str, base: str, rebase: str) -> Iterator[bytes]:
    """archive.TarResourceRebase: `base` (in `root`) and what is under it, in lexical order,
    as Go's tar writer writes them (ustar headers, two zero blocks at the end, no padding
    to a record size); hard links to an earlier entry as link entries."""
    seen: dict[tuple[int, int], str] = {}
    top = os.path.join(root, base)

    def walk(path: str, name: str) -> Iterator[bytes]:
        info = os.lstat(path)
        if st.S_ISSOCK(info.st_mode):
            return
        ti = tarfile.TarInfo(name + ("/" if st.S_ISDIR(info.st_mode) else ""))
        ti.mode = st.S_IMODE(info.st_mode)
        ti.uid, ti.gid = info.st_uid, info.st_gid
        ti.mtime = int(info.st_mtime)
        data = None
        if st.S_ISDIR(info.st_mode):
            ti.type = tarfile.DIRTYPE
        elif st.S_ISLNK(info.st_mode):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif st.S_ISREG(info.st_mode):
            key = (info.st_dev, info.st_ino)
            if info.st_nlink > 1 and key in seen:
                ti.type, ti.linkname = tarfile.LNKTYPE, seen[key]
            else:
                seen[key] = name
                ti.size = info.st_size
                data = path
        elif st.S_ISFIFO(info.st_mode):
            ti.type = tarfile.FIFOTYPE
        else:
            ti.type = tarfile.CHRTYPE if st.S_ISCHR(info.st_mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(info.st_rdev), os.minor(info.st_rdev)
        yield ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        if data is not None:
            with open(data, "rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
            if ti.size % 512:
                yield b"\0" * (512 - ti.size % 512)
        if st.S_ISDIR(info.st_mode):
            for child in sorted(os.listdir(path)):
                yield from walk(os.path.join(path, child), f"{name}/{child}")

    yield from walk(top, rebase or base)
    yield b"\0" * 1024


def _to_container(
    env: Env, container: str, opts: CopyOptions, src_path: str, dst_path: str, quiet: bool
) -> int:
    if src_path != "-":
        src_path = _resolve_local(src_path)
    dst = _Info(dst_path)
    info = _stat_container(env, container, dst_path)
    if info is not None:
        if info["mode"] & _GO_SYMLINK:
            target = info.get("linkTarget") or ""
            if not target.startswith("/"):
                target = os.path.join(_split_dir_entry(dst_path)[0], target)
            dst = _Info(target)
            info = _stat_container(env, container, target)
        if info is not None:
            why = "" if info["mode"] & _GO_DIR else _file_mode_error(info["mode"])
            if why:
                raise CLIError(
                    f'destination "{container}:{dst_path}" must be a directory or a regular '
                    f"file: {why}"
                )
            dst = _Info(dst.path, True, bool(info["mode"] & _GO_DIR))
    body: Iterable[bytes]
    if src_path == "-":
        if not dst.is_dir:
            raise CLIError(f'destination "{container}:{dst_path}" must be a directory')
        target_dir = dst.path
        body = _stdin_chunks(env.stdin)
    else:
        src = _source_info(src_path, opts.follow_link)
        root, base = _split_dir_entry(src.path)
        target_dir, old, new = _prepare(src, dst)
        body = _tar_entries(root, base, new if old else src.rebase_name)
    counted = _Counted(body)
    params = {
        "path": target_dir,
        "noOverwriteDirNonDir": "true",
        "copyUIDGID": "true" if opts.archive else None,
    }
    error = None
    try:
        env.api.request(
            "PUT",
            f"/containers/{quote(container)}/archive",
            params,
            stream_body=counted,
            headers={"Content-Type": "application/x-tar"},
        ).close()
    except APIError as e:
        error = e
    if not quiet:
        _summary(env, counted.total, f"{container}:{dst.path}")
    if error is not None:
        raise error
    return 0


def _stdin_chunks(stdin: IO[bytes]) -> Iterator[bytes]:
    while chunk := stdin.read(1 << 16):
        yield chunk


# ---------------------------------------------------------------------------------------------
# export


def export(env: Env, container: str, output: str) -> int:
    """docker export: GET /containers/{id}/export to stdout (never a terminal) or to -o's
    file, written as `save` writes its archive."""
    from cli.actions.image import check_output_path, write_output

    if not output and env.stdout_is_tty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if output:
        check_output_path(output, "failed to export container")
    resp = env.api.request("GET", f"/containers/{quote(container)}/export")
    try:
        write_output(env, resp.chunks(), output)
    finally:
        resp.close()
    return 0
