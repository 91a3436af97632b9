"""ContainerFiles: a container's filesystem from outside: cp (archive), diff, export, commit.

It stands next to ContainerService, as stats and top do, and reaches containers only through
it. It picks the rootfs view (rootfs.py), runs the file work in threads (archive.py,
fsdiff.py) and streams tars out of them with back-pressure, so the event loop never blocks on
a disk and a slow client never makes us buffer a whole archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import shutil
import stat
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from .. import errdefs
from ..idmap import IdentityMapping
from ..images import ImageStore, repo_tag_reference
from ..images._stream import with_stream
from ..images.types import Image
from . import archive, fsdiff
from .commit import ChildImage, CommitOptions, child_image_config, commit_runtime_config
from .rootfs import RootfsLayout, RootfsMounts, find_task_rootfs
from .users import resolve_user

if TYPE_CHECKING:
    from ..volumes.mounts import MountPoint
    from .types import Container

log = logging.getLogger(__name__)

_LIVE = ("running", "paused")
_QUEUE_DEPTH = 4


class NoSuchFile(errdefs.NotFound):
    """dockerd's containerFileNotFound, for a path missing in a container (404)."""

    def __init__(self, path: str, container: str) -> None:
        super().__init__(f"Could not find the file {path} in container {container}")


class FilesBackend(Protocol):
    """What ContainerFiles needs from the container service."""

    def get(self, ref: str) -> Container: ...

    def log_event(self, c: Container, action: str, **extra: str) -> None: ...

    def rootfs_layout(self, c: Container) -> RootfsLayout: ...

    def state_lock(self, c: Container) -> asyncio.Lock: ...

    def view_mounts(
        self, c: Container
    ) -> contextlib.AbstractAsyncContextManager[list[MountPoint]]: ...

    async def pause(self, ref: str) -> None: ...

    async def unpause(self, ref: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PathArchive:
    """GET /containers/{id}/archive: the stat (for the header) and the tar, as it is made."""

    stat: dict[str, Any]
    chunks: AsyncIterator[bytes]

    @property
    def stat_header(self) -> str:
        return archive.stat_header(self.stat)


class ContainerFiles:
    """The archive, changes, export and commit operations of containers."""

    def __init__(self, containers: FilesBackend, images: ImageStore) -> None:
        self._containers = containers
        self._images = images
        self._mounts = RootfsMounts(images.mount_path)

    # -- views ---------------------------------------------------------------------------

    @staticmethod
    def _bind_mounts(c: Container) -> dict[str, Path]:
        """The files the daemon bind-mounts into the container, which cp reads and writes
        in place of the rootfs's own (dockerd's view has them mounted)."""
        mounts = {
            "/etc/resolv.conf": c.resolv_conf_path,
            "/etc/hostname": c.hostname_path,
            "/etc/hosts": c.hosts_path,
        }
        return {dest: Path(src) for dest, src in mounts.items() if src and os.path.isfile(src)}

    @contextlib.asynccontextmanager
    async def _view(
        self, c: Container, *, writable: bool, binds: bool = True
    ) -> AsyncIterator[archive.ScopedRoot]:
        """The container's root: its task's rootfs mount while it runs, else a mount of ours;
        with `binds`, its volumes, bind mounts and network files over it (dockerd's view).

        Writing to a stopped container holds its state lock throughout, so it cannot start
        (and mount the same upper dir) while we write, as dockerd holds the container lock.
        A vfs container's tree is its root whether it runs or not (the task binds it)."""
        layout = self._containers.rootfs_layout(c)
        directory, lowers = layout.directory, layout.lowers
        async with contextlib.AsyncExitStack() as held:
            mounts: dict[str, Path | archive.ViewMount] = {}
            if binds:
                mounts.update(self._bind_mounts(c))
                for p in await held.enter_async_context(self._containers.view_mounts(c)):
                    mounts[p.destination] = archive.ViewMount(Path(p.source), not p.rw)
            placeholder = directory / "empty"  # what a missing way to a mount point reads as
            if mounts:
                await asyncio.to_thread(placeholder.mkdir, 0o755, exist_ok=True)
            if layout.tree is not None:
                scope = await asyncio.to_thread(
                    archive.ScopedRoot.open, layout.tree, mounts, placeholder
                )
                try:
                    yield scope
                finally:
                    scope.close()
                return
            for _ in range(3):
                if c.state.status in _LIVE:
                    scope = await asyncio.to_thread(
                        _open_live, directory / "upper", mounts, placeholder
                    )
                    if scope is not None:
                        try:
                            yield scope
                        finally:
                            scope.close()
                        return
                if not writable:
                    async with self._merged(directory, lowers, False, mounts, placeholder) as scope:
                        yield scope
                    return
                async with self._containers.state_lock(c):
                    if c.state.status in _LIVE:
                        continue  # started meanwhile: write through its own mount
                    async with self._merged(directory, lowers, True, mounts, placeholder) as scope:
                        yield scope
                    return
            raise errdefs.Conflict(f"container {c.id} is changing state; try again")

    @contextlib.asynccontextmanager
    async def _merged(
        self,
        directory: Path,
        lowers: list[Path],
        writable: bool,
        mounts: dict[str, Path | archive.ViewMount],
        placeholder: Path,
    ) -> AsyncIterator[archive.ScopedRoot]:
        """A stopped container's overlay, mounted by us, opened as a scope."""
        async with self._mounts.view(directory, lowers, writable=writable) as merged:
            scope = await asyncio.to_thread(archive.ScopedRoot.open, merged, mounts, placeholder)
            try:
                yield scope
            finally:
                scope.close()

    @staticmethod
    def _check_usable(c: Container) -> None:
        if c.state.status == "removing":
            raise errdefs.Conflict(f"container {c.id} is being removed")
        if c.state.status == "dead":
            raise errdefs.Conflict(f"container {c.id} is dead")

    # -- archive (docker cp) -------------------------------------------------------------

    async def stat_path(self, ref: str, path: str) -> dict[str, Any]:
        """HEAD /containers/{id}/archive: the path's stat."""
        c = self._containers.get(ref)
        self._check_usable(c)
        request = archive.RequestPath.parse(path)
        async with self._view(c, writable=False) as scope:
            return await asyncio.to_thread(
                _in_container, path, ref, archive.path_stat, scope, request
            )

    @contextlib.asynccontextmanager
    async def archive_path(self, ref: str, path: str) -> AsyncIterator[PathArchive]:
        """GET /containers/{id}/archive: stat first (errors before any byte), then the tar;
        the view stays mounted until the tar has been sent."""
        c = self._containers.get(ref)
        self._check_usable(c)
        request = archive.RequestPath.parse(path)
        async with self._view(c, writable=False) as scope:
            path_stat = await asyncio.to_thread(
                _in_container, path, ref, archive.path_stat, scope, request
            )
            node = await asyncio.to_thread(_in_container, path, ref, scope.resolve_request, request)

            def work(write: Callable[[bytes], None], cancelled: Callable[[], bool]) -> None:
                tar = archive.TarWriter(write)
                archive.write_tree(scope, node, request.name, tar, cancelled)
                tar.close()

            chunks = thread_chunks(work)
            try:
                yield PathArchive(path_stat, chunks)
            finally:
                try:
                    await chunks.aclose()  # returns once the thread is done with the fds
                finally:
                    node.close()
            self._containers.log_event(c, "archive-path")  # before the volumes' unmount

    async def extract_to_dir(
        self,
        ref: str,
        path: str,
        body: AsyncIterator[bytes],
        *,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> None:
        """PUT /containers/{id}/archive: untar the body into the directory `path`."""
        c = self._containers.get(ref)
        self._check_usable(c)
        absolute = archive.absolute_request_path(path)
        async with self._view(c, writable=True) as scope:
            dest = await asyncio.to_thread(_destination, scope, absolute, path, ref)
            if not _in_mount(c, dest) and c.host_config.get("ReadonlyRootfs"):
                raise errdefs.InvalidParameter("container rootfs is marked read-only")
            chown = None
            user = c.config.get("User") or ""
            ids = self._images.ids  # --userns-remap: the tar's ids are the container's
            if copy_uid_gid and user:
                found = await asyncio.to_thread(resolve_user, user, scope.read_file)
                chown = ids.to_host(found.uid, found.gid)
            options = archive.ExtractOptions(no_overwrite_dir_non_dir, chown, ids)

            def work(source: BinaryIO) -> None:
                _in_container(
                    path, ref, archive.extract, scope, dest, archive.decompressed(source), options
                )

            await with_stream(body, work)
            self._containers.log_event(c, "extract-to-dir")  # before the volumes' unmount

    # -- diff and export -----------------------------------------------------------------

    async def changes(self, ref: str) -> list[dict[str, Any]] | None:
        """GET /containers/{id}/changes."""
        c = self._containers.get(ref)
        self._check_usable(c)
        layout = self._containers.rootfs_layout(c)
        tree = layout.tree is not None
        return await asyncio.to_thread(
            lambda: fsdiff.changes(layout.changes_root, layout.lowers, tree=tree)
        )

    @contextlib.asynccontextmanager
    async def export(self, ref: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """GET /containers/{id}/export: the rootfs as a tar (no bind mounts, as dockerd)."""
        c = self._containers.get(ref)
        self._check_usable(c)
        async with self._view(c, writable=False, binds=False) as scope:
            node = await asyncio.to_thread(scope.resolve, "/", True)

            def work(write: Callable[[bytes], None], cancelled: Callable[[], bool]) -> None:
                tar = archive.TarWriter(write, self._images.ids)
                archive.write_tree(scope, node, "", tar, cancelled)
                tar.close()

            chunks = thread_chunks(work)
            try:
                yield chunks
            finally:
                try:
                    await chunks.aclose()
                finally:
                    node.close()
        self._containers.log_event(c, "export")

    # -- commit --------------------------------------------------------------------------

    async def commit(self, opts: CommitOptions) -> str:
        """POST /commit: returns the new image's ID."""
        c = self._containers.get(opts.container)
        if c.state.status == "dead":
            raise errdefs.Conflict(f"You cannot commit container {c.id} which is Dead")
        if c.state.status == "removing":
            raise errdefs.Conflict(f"You cannot commit container {c.id} which is being removed")
        ref = repo_tag_reference(opts.repo, opts.tag)
        config = commit_runtime_config(c.config, opts.config, opts.changes)
        if not self._images.exists(c.image_id):
            raise errdefs.NoSuchImage(c.image_id)
        parent = self._images.get(c.image_id)
        paused = False
        if opts.pause and c.state.status == "running":
            await self._containers.pause(c.id, by_daemon=True)
            paused = True
        try:
            child = ChildImage(
                container_id=c.id,
                container_config=c.config,
                config=config,
                author=opts.author,
                comment=opts.comment,
            )
            image_id = await self._commit(c, parent.id, parent.config, child)
        finally:
            if paused:
                with contextlib.suppress(errdefs.EngineError):
                    await self._containers.unpause(c.id)
        image_ref = ""
        if ref is not None:
            await self._images.tag(image_id, opts.repo, opts.tag)
            image_ref = ref.familiar_string()
        self._containers.log_event(
            c, "commit", comment=opts.comment, imageID=image_id, imageRef=image_ref
        )
        return image_id

    async def commit_build_step(self, ref: str, parent: Image, child: ChildImage) -> str:
        """The builder's commit of a RUN container: the image config and the step's
        container_config come from the build, not from the container."""
        c = self._containers.get(ref)
        return await self._commit(c, parent.id, parent.config, child)

    async def _commit(
        self, c: Container, parent_id: str, parent_config: Mapping[str, Any], child: ChildImage
    ) -> str:
        layout = self._containers.rootfs_layout(c)
        parent_chain = c.layer_chains[-1] if c.layer_chains else ""
        return await commit_upper(
            self._images,
            layout.changes_root,
            layout.lowers,
            parent_chain,
            parent_id,
            lambda diff_id: child_image_config(parent_config, replace(child, diff_id=diff_id)),
            tree=layout.tree is not None,
        )


async def commit_upper(
    images: ImageStore,
    upper: Path,
    lowers: list[Path],
    parent_chain: str,
    parent_id: str,
    document: Callable[[str], bytes],
    *,
    tree: bool = False,
) -> str:
    """An overlay upper dir (or with `tree`, a vfs rootfs) as a new image on top of its
    lowers: the diff is written as a layer tar, registered (unless empty: the image then
    records an empty layer), and the image created from `document(diff_id)`; returns its ID.
    Used by commit and the builder."""
    work_dir = images.tmp_dir / f"commit-{os.urandom(6).hex()}"
    tar_path = work_dir / "layer.tar"
    pinned = ""
    try:
        await asyncio.to_thread(work_dir.mkdir, parents=True)
        diff_id = await asyncio.to_thread(_write_layer, upper, lowers, tar_path, tree, images.ids)
        if diff_id != fsdiff.EMPTY_LAYER_DIFF_ID:
            row = await images.register_layer(tar_path, parent_chain, diff_id)
            pinned = row.chain_id
        image = await images.create_image(document(diff_id), parent=parent_id)
        return image.id
    finally:
        if pinned:
            await images.release_layer(pinned)
        await asyncio.to_thread(shutil.rmtree, work_dir, True)


def _write_layer(
    upper: Path, lowers: list[Path], tar_path: Path, tree: bool, ids: IdentityMapping
) -> str:
    with open(tar_path, "wb", buffering=archive.CHUNK) as out:
        sink = fsdiff.HashingWriter(out)
        fsdiff.layer_tar(upper, lowers, sink, tree=tree, ids=ids)
        out.flush()
        os.fsync(out.fileno())
    return sink.digest


def _open_live(
    upper: Path, mounts: Mapping[str, Path | archive.ViewMount], placeholder: Path
) -> archive.ScopedRoot | None:
    """The running task's rootfs mount, opened; None when it is not (or no longer) mounted."""
    entry = find_task_rootfs(upper)
    if entry is None:
        return None
    try:
        scope = archive.ScopedRoot.open(entry.mount_point, mounts, placeholder)
    except OSError:
        return None
    st = os.fstat(scope.fd)
    if (os.major(st.st_dev), os.minor(st.st_dev)) != entry.dev or not stat.S_ISDIR(st.st_mode):
        scope.close()  # unmounted between mountinfo and open: the bare directory is not it
        return None
    return scope


def _in_mount(c: Container, dest: tuple[str, ...]) -> bool:
    """dockerd's checkIfPathIsInAVolume: whether the extraction directory is in one of the
    container's mounts (the rootfs's read-only flag does not apply there); a read-only mount
    refuses it. The deepest mount holding it decides, as the kernel would."""
    path = "/" + "/".join(dest)
    holding = [m for m in c.mount_points if _holds(m.get("destination") or "", path)]
    if not holding:
        return False
    if not max(holding, key=lambda m: len(m["destination"])).get("rw", True):
        raise errdefs.InvalidParameter("mounted volume is marked read-only")
    return True


def _holds(destination: str, path: str) -> bool:
    """HasResource: `path` is the mount's destination or under it."""
    rel = posixpath.relpath(path, destination or "/")
    return rel != ".." and not rel.startswith("../")


def _destination(scope: archive.ScopedRoot, absolute: str, path: str, ref: str) -> tuple[str, ...]:
    """PUT's extraction directory, its last symlink followed too (GetResourcePath)."""

    def find() -> tuple[str, ...]:
        with scope.resolve(absolute, follow=True) as node:
            st = node.lstat()
            if node.source is not None or not stat.S_ISDIR(st.st_mode):
                raise errdefs.InvalidParameter("extraction point is not a directory")
            return node.parts

    return _in_container(path, ref, find)


def _in_container(path: str, ref: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run file work, turning a missing path into dockerd's 404 and other OS errors into 500s."""
    try:
        return fn(*args)
    except (FileNotFoundError, NotADirectoryError):
        raise NoSuchFile(path, ref) from None
    except OSError as exc:
        raise errdefs.System(f"{exc.strerror or exc}: {path}") from None


class _Cancelled(Exception):
    """The consumer went away: the producing thread stops."""


def thread_chunks(
    work: Callable[[Callable[[bytes], None], Callable[[], bool]], None],
) -> AsyncIterator[bytes]:
    """Run `work(write, cancelled)` in a thread and yield what it writes, ~1 MiB at a time.

    The queue is short, so the thread waits for the client (back-pressure); closing the
    iterator early makes `cancelled()` true and `write` raise, ending the thread."""
    return _ThreadChunks(work).run()


class _ThreadChunks:
    def __init__(self, work: Callable[[Callable[[bytes], None], Callable[[], bool]], None]) -> None:
        self._work = work
        self._cancelled = threading.Event()
        self._buffer = bytearray()

    async def run(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(_QUEUE_DEPTH)

        def put(item: bytes | BaseException | None) -> None:
            future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            while True:
                try:
                    future.result(timeout=0.2)
                    return
                except TimeoutError:
                    if self._cancelled.is_set():
                        future.cancel()
                        raise _Cancelled from None

        def write(data: bytes) -> None:
            if self._cancelled.is_set():
                raise _Cancelled
            self._buffer += data
            if len(self._buffer) >= archive.CHUNK:
                put(bytes(self._buffer))
                self._buffer.clear()

        def produce() -> None:
            try:
                self._work(write, self._cancelled.is_set)
                if self._buffer:
                    put(bytes(self._buffer))
                put(None)
            except _Cancelled:
                pass
            except BaseException as exc:
                with contextlib.suppress(_Cancelled):
                    put(exc if isinstance(exc, errdefs.EngineError) else _as_error(exc))

        task = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._cancelled.set()
            while not queue.empty():
                queue.get_nowait()
            # The thread holds the view's fds: they are closed only after it is done, even if
            # we are cancelled meanwhile (it stops at its next write).
            interrupted = False
            while not task.done():
                try:
                    await asyncio.shield(task)
                except asyncio.CancelledError:
                    interrupted = True
                except BaseException:
                    break
            if interrupted:
                raise asyncio.CancelledError


def _as_error(exc: BaseException) -> errdefs.EngineError:
    log.error("archive stream failed", exc_info=exc)
    return errdefs.System(str(exc) or repr(exc))
